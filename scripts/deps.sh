#!/usr/bin/env bash
# Installs the Debian packages gale's build, tests, fuzzing, coverage and
# fuzz/oss-fuzz/build.sh need, make included: on a bare Debian 12 machine (no make, no
# compiler) run it before the first make (`scripts/deps.sh && make test`). Needs only bash,
# dpkg-query and apt-get, which every Debian image has.
# Idempotent and silent when everything is present. As root it runs apt-get (updating the
# package lists first when there are none, or when the install fails on stale ones);
# otherwise it names what is missing and how to install it, and fails.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

# Tools the scripts take from the base system (bash, sh, sed, grep, awk, find, coreutils'
# timeout/seq/mktemp/nproc/sha1sum) are in every Debian image, minbase included.
packages=(make cmake gcc libc6-dev clang libclang-rt-dev llvm libcmocka-dev pkg-config gcovr
          python3 zip libc-ares-dev)
# Headless browser for the timeline page test (tests/sim/test_sim_timeline.c skips without).
packages+=(chromium)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi

log=/tmp/gale-deps.log
echo "deps: installing ${missing[*]} (apt-get, log in $log)" >&2
export DEBIAN_FRONTEND=noninteractive
apt_update() {
  apt-get update -qq >>"$log" 2>&1 || {
    echo "deps: apt-get update failed (see $log):" >&2
    tail -n 5 "$log" >&2
    exit 1
  }
}
apt_install() {
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1
}
: >"$log"
# Fresh images (Docker's debian:12) ship no package lists: update first when there are none.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt_update
fi
if ! apt_install; then
  # Stale lists (a package moved on the mirror): update and try once more.
  apt_update
  apt_install || {
    echo "deps: apt-get install ${missing[*]} failed (see $log):" >&2
    tail -n 5 "$log" >&2
    exit 1
  }
fi
echo "deps: installed ${missing[*]}" >&2
