#!/bin/bash -eu
# SPDX-License-Identifier: MIT
# OSS-Fuzz / ClusterFuzzLite build script for gale's fuzz targets (see fuzz/README.md).
# Honours the builder's environment: $CC and $CFLAGS (sanitizer and coverage flags) build
# the library and the harnesses, $LIB_FUZZING_ENGINE links each fuzz_<target> (libFuzzer,
# AFL++ or honggfuzz driver), and $OUT receives, per target:
#   fuzz_<target>                  the fuzzer
#   fuzz_<target>_seed_corpus.zip  fuzz/corpus/<target>/* + fuzz/regressions/<target>/*
#   fuzz_<target>.dict             fuzz/dict/<target>.dict, when there is one
#   fuzz_<target>.options          fuzz/options/<target>.options (max_len)
# Also usable by hand: SRC=.. OUT=/tmp/out CC=clang CFLAGS=-fsanitize=address,fuzzer-no-link
# LIB_FUZZING_ENGINE=-fsanitize=fuzzer fuzz/oss-fuzz/build.sh
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${WORK:-/tmp}/gale-fuzz-build
: "${CC:=clang}" "${CFLAGS:=}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}" "${OUT:?OUT must be set}"
# zip packs the seed corpora: the builder image installs it (.clusterfuzzlite/Dockerfile), on
# Debian scripts/deps.sh does. Checked first, not after a whole build.
if ! command -v zip >/dev/null 2>&1; then
  echo "gale: zip not found (apt-get install zip, or scripts/deps.sh on Debian)" >&2
  exit 1
fi

# GALE_WERROR off: the builder's compiler and flags are not the ones gale is checked with.
cmake -S "$source_dir" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$CC" \
  -DCMAKE_C_FLAGS="$CFLAGS" \
  -DCMAKE_C_FLAGS_RELEASE="-O1" \
  -DCMAKE_EXE_LINKER_FLAGS="$CFLAGS" \
  -DGALE_BUILD_FUZZERS=ON \
  -DGALE_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
  -DGALE_BUILD_TESTS=OFF -DGALE_BUILD_EXAMPLES=OFF -DGALE_BUILD_BENCH=OFF \
  -DGALE_INSTALL=OFF -DGALE_WERROR=OFF -DGALE_SANITIZE=
cmake --build "$build_dir" -j "$(nproc)"

mkdir -p "$OUT"
for fuzzer in "$build_dir"/fuzz/fuzz_*; do
  if [ ! -f "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
    continue
  fi
  name=$(basename "$fuzzer")
  target=${name#fuzz_}
  cp "$fuzzer" "$OUT/"
  inputs=()
  for f in "$source_dir/fuzz/corpus/$target"/* "$source_dir/fuzz/regressions/$target"/*; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in README*|.*) continue;; esac
    inputs+=("$f")
  done
  rm -f "$OUT/${name}_seed_corpus.zip"
  if [ ${#inputs[@]} -gt 0 ]; then
    zip -q -j "$OUT/${name}_seed_corpus.zip" "${inputs[@]}"
  fi
  if [ -f "$source_dir/fuzz/dict/$target.dict" ]; then
    cp "$source_dir/fuzz/dict/$target.dict" "$OUT/$name.dict"
  fi
  cp "$source_dir/fuzz/options/$target.options" "$OUT/$name.options"
  echo "gale: packaged $name (${#inputs[@]} seed inputs)"
done
