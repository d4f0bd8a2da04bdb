#!/usr/bin/env bash
# Installs the Debian packages gale's build, tests, fuzzing and coverage need.
# Idempotent and quiet when everything is present; as root it runs apt-get (updating the
# package lists first when they are missing or the install fails); otherwise it names
# what is missing and how to install it, and fails.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail

packages=(cmake make gcc clang libclang-rt-dev llvm libcmocka-dev pkg-config gcovr python3)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/gale-deps.log 2>&1
}
# Fresh machines have no package lists; update first when they are absent or stale.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] ||
   ! apt_install; then
  apt-get update -qq >/tmp/gale-deps.log 2>&1 || {
    echo "deps: apt-get update failed (see /tmp/gale-deps.log)" >&2; exit 1; }
  apt_install || {
    echo "deps: apt-get install ${missing[*]} failed (see /tmp/gale-deps.log):" >&2
    tail -n 5 /tmp/gale-deps.log >&2
    exit 1
  }
fi
echo "deps: installed ${missing[*]}" >&2
