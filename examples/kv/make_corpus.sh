#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes the committed fuzz corpus of kv_fuzz into corpus/ (beside this script), the same
# bytes every time: byte 0 picks the scenario (0 kv_put_get, 1 kv_concurrent), byte 1 the
# fault profile (0 none, 1 default, 2 harsh, 3 swarm), the rest is entropy from a fixed
# generator (the ZX81 LCG, exact in any awk). Every input must pass on the correct
# server: kv_tests replay --input FILE (CTest runs each one as kv_tests.input.NAME).
# Usage: make_corpus.sh
set -eu
dir=$(cd "$(dirname "$0")" && pwd)/corpus
mkdir -p "$dir"

# input NAME SCENARIO PROFILE LENGTH SEED
input() {
  escapes=$(awk -v scenario="$2" -v profile="$3" -v len="$4" -v x="$5" 'BEGIN {
    printf "\\0%03o\\0%03o", scenario, profile
    for (i = 2; i < len; i++) {
      x = (x * 75 + 74) % 65537
      printf "\\0%03o", x % 256
    }
  }')
  printf '%b' "$escapes" >"$dir/$1"
}

input put_get-none-16 0 0 16 1
input put_get-default-64 0 1 64 2
input put_get-harsh-200 0 2 200 3
input put_get-swarm-128 0 3 128 4
input concurrent-none-24 1 0 24 5
input concurrent-default-64 1 1 64 6
input concurrent-harsh-200 1 2 200 7
input concurrent-swarm-160 1 3 160 8
