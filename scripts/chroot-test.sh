#!/usr/bin/env bash
# Proves the README's commands on a bare Debian 12: builds a minimal root file system
# (debootstrap --variant=minbase bookworm: bash, dpkg and apt, no make, no compiler, no
# ca-certificates, no git), empties its package lists as Docker's debian:12 image does,
# puts a clone of the repository's committed HEAD in /work/main (and ../shared beside it,
# as CI has it), mounts /proc, /sys (read-only) and a private /dev (tmpfs: null, zero,
# urandom, tty..., its own /dev/pts and /dev/shm; never the host's), and runs each command
# in /work/main inside a chroot with a clean environment, one after the other on the same
# root; when a command ran scripts/deps.sh, checks that running it again is silent. Every
# command's output is shown and kept in the log directory; a summary at the end gives each
# command's exit status, time, and its CTest / `gale run` / deps.sh lines.
#
# Usage (as root, with network access to a Debian mirror; the default run takes about 2 min
# on 2 cores, 'scripts/deps.sh && .ci/run' about 7):
#   scripts/chroot-test.sh [options] [command ...]
#   command         shell command run in /work/main inside the chroot (default: the README's
#                   two, 'scripts/deps.sh && make run' then 'scripts/deps.sh && make test')
#   --overlay PATH  copy PATH (relative to the repository, a file or directory) from the
#                   working tree over the clone, to test uncommitted changes; repeatable
#   --root DIR      where the root file system is built (default /tmp/gale-root); it must not
#                   exist, be empty, or be a root this script made (it is replaced)
#   --logs DIR      where the logs go (default /tmp/gale-chroot-test)
#   --mirror URL    Debian mirror (default: $GALE_CHROOT_MIRROR, else the first .../debian
#                   URI in /etc/apt/sources*, else http://deb.debian.org/debian)
#   --keep-lists    keep the package lists debootstrap leaves (default: emptied)
#   --keep          leave the root file system (unmounted) afterwards, to look inside
# Example: scripts/chroot-test.sh --overlay scripts/deps.sh
# Exit status: 0 when every command and the silence check passed, 1 otherwise, 2 on a
# usage or setup error. The root is unmounted (and removed unless --keep) on any exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

root=/tmp/gale-root
logs=/tmp/gale-chroot-test
mirror=${GALE_CHROOT_MIRROR:-}
keep=0
keep_lists=0
overlays=()
commands=()
usage() { sed -n '/^# Usage/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --overlay) [ $# -ge 2 ] || usage; overlays+=("$2"); shift 2;;
    --root) [ $# -ge 2 ] || usage; root=$2; shift 2;;
    --logs) [ $# -ge 2 ] || usage; logs=$2; shift 2;;
    --mirror) [ $# -ge 2 ] || usage; mirror=$2; shift 2;;
    --keep-lists) keep_lists=1; shift;;
    --keep) keep=1; shift;;
    -h|--help) usage;;
    --) shift; commands+=("$@"); break;;
    -*) echo "chroot-test: unknown option $1" >&2; usage;;
    *) commands+=("$1"); shift;;
  esac
done
[ ${#commands[@]} -gt 0 ] ||
  commands=('scripts/deps.sh && make run' 'scripts/deps.sh && make test')

die() { echo "chroot-test: $*" >&2; exit 2; }
say() { printf '\n==== chroot-test: %s ====\n' "$*"; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot)"
# A plain absolute path: mountinfo escapes odd characters, and "/" would be a disaster.
if ! [[ "$root" =~ ^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$ ]]; then
  die "--root must be a plain absolute path, not /: $root"
fi
root=$(realpath -m "$root")
[ "$root" != / ] || die "--root must not be /"
for p in "${overlays[@]}"; do
  [ -e "$repo/$p" ] || die "--overlay $p: no such path in $repo"
done
command -v git >/dev/null || die "git not found (apt-get install git)"

# Mount points at or under $root, deepest first (field 5 of /proc/self/mountinfo).
mounts_under() {
  awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo |
    sort -r
}
marker=.gale-chroot-test
if [ -e "$root" ]; then
  [ -z "$(mounts_under)" ] || die "$root has live mounts; unmount them first: $(mounts_under)"
  if [ -n "$(ls -A "$root")" ] && [ ! -e "$root/$marker" ]; then
    die "$root exists and was not made by this script; remove it or pick another --root"
  fi
  rm -rf --one-file-system "$root"
fi

mounted=()
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
  local rc=$? pid m
  trap - EXIT INT TERM
  # Processes still running inside the root (a test left behind) keep its mounts busy.
  for pid in /proc/[0-9]*; do
    if [ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ]; then
      kill -9 "${pid#/proc/}" 2>/dev/null || true
    fi
  done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m=${mounted[i]}
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
      echo "chroot-test: could not unmount $m" >&2
  done
  if [ -n "$(mounts_under)" ]; then
    echo "chroot-test: still mounted, $root NOT removed: $(mounts_under | tr '\n' ' ')" >&2
    exit $((rc == 0 ? 1 : rc))
  fi
  if [ "$keep" = 1 ]; then
    echo "chroot-test: root file system kept in $root (chroot $root bash)" >&2
  elif [ -d "$root" ]; then
    rm -rf --one-file-system "$root"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$SECONDS
rm -rf "$logs"
mkdir -p "$logs"

if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
               /etc/apt/sources.list.d/*.sources 2>/dev/null |
           grep -v '^[[:space:]]*#' | grep -oE 'https?://[^[:space:]]*/debian/?([[:space:]]|$)' |
           head -n 1 | tr -d '[:space:]' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap on the host"
  { apt-get install -y -qq debootstrap || { apt-get update -qq && apt-get install -y -qq debootstrap; }; } \
    >"$logs/debootstrap-install.log" 2>&1 || die "could not install debootstrap (see $logs/debootstrap-install.log)"
fi

say "debootstrap --variant=minbase bookworm $root $mirror"
mkdir -p "$root"
touch "$root/$marker"
t=$SECONDS
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
  { tail -n 20 "$logs/debootstrap.log" >&2; die "debootstrap failed (see $logs/debootstrap.log)"; }
echo "minimal root file system in $((SECONDS - t)) s ($(chroot "$root" dpkg-query -W | wc -l) packages)"
if [ "$keep_lists" != 1 ]; then
  find "$root/var/lib/apt/lists" -maxdepth 1 -type f -delete
  echo "package lists emptied (as in Docker's debian:12)"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
[ -e "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n' >"$root/etc/hosts"

say "clone of $repo HEAD into $root/work/main"
mkdir -p "$root/work"
git clone -q --no-hardlinks "$repo" "$root/work/main"
echo "commit $(git -C "$root/work/main" log -1 --format='%h %s' | cut -c1-100)"
for p in "${overlays[@]}"; do
  rm -rf "${root:?}/work/main/$p"
  mkdir -p "$(dirname "$root/work/main/$p")"
  cp -a "$repo/$p" "$root/work/main/$p"
  echo "overlay from the working tree: $p"
done
if [ -d "$repo/../shared" ]; then
  cp -a "$repo/../shared" "$root/work/shared"
  echo "copied $(cd "$repo/../shared" && pwd) to $root/work/shared"
fi

mount_one() { # mount args... target (the target is last)
  mount "$@"
  mounted+=("${!#}")
}
mount_one -t proc proc "$root/proc"
mount_one -t sysfs -o ro sysfs "$root/sys"
# A private /dev (a tmpfs with the usual nodes, its own devpts instance), not a bind of the
# host's: nothing run inside can touch the host's devices. (It happened: as root,
# `gcovr --output /dev/null` unlinks /dev/null after checking it is writable.)
mount_one -t tmpfs -o mode=755,nosuid gale-dev "$root/dev"
dev=$root/dev
mknod -m 666 "$dev/null" c 1 3
mknod -m 666 "$dev/zero" c 1 5
mknod -m 666 "$dev/full" c 1 7
mknod -m 666 "$dev/random" c 1 8
mknod -m 666 "$dev/urandom" c 1 9
mknod -m 666 "$dev/tty" c 5 0
ln -s /proc/self/fd "$dev/fd"
ln -s /proc/self/fd/0 "$dev/stdin"
ln -s /proc/self/fd/1 "$dev/stdout"
ln -s /proc/self/fd/2 "$dev/stderr"
mkdir "$dev/pts" "$dev/shm"
mount_one -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$dev/pts"
ln -s pts/ptmx "$dev/ptmx"
mount_one -t tmpfs -o mode=1777,nosuid,nodev shm "$dev/shm"

# A fresh login's environment: no host PATH, compilers or build flags leak in.
env_vars=(HOME=/root TERM="${TERM:-dumb}"
          PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in http_proxy https_proxy no_proxy; do
  [ -n "${!v:-}" ] && env_vars+=("$v=${!v}")
done
in_root() { # log command
  local log=$1
  shift
  set +e
  chroot "$root" /usr/bin/env -i "${env_vars[@]}" bash -c "cd /work/main && $1" 2>&1 |
    tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}

results=()
failed=0
n=0
for c in "${commands[@]}"; do
  n=$((n + 1))
  say "[$n/${#commands[@]}] $c"
  t=$SECONDS
  rc=0
  in_root "$logs/command-$n.log" "$c" || rc=$?
  [ "$rc" -eq 0 ] || failed=1
  results+=("[$n] exit $rc in $((SECONDS - t)) s: $c  (log $logs/command-$n.log)")
done

# Once a command has run deps.sh, running it again must print nothing and succeed.
if [[ "${commands[*]}" == *deps.sh* ]]; then
  say "scripts/deps.sh again: must be silent and succeed"
  rc=0
  in_root "$logs/deps-again.log" 'scripts/deps.sh' || rc=$?
  if [ "$rc" -eq 0 ] && [ ! -s "$logs/deps-again.log" ]; then
    results+=("[deps] scripts/deps.sh with everything present: silent, exit 0")
  else
    failed=1
    lines=$(wc -l <"$logs/deps-again.log")
    results+=("[deps] scripts/deps.sh with everything present: exit $rc, $lines lines (FAIL)")
  fi
fi

say "summary ($((SECONDS - start)) s in all)"
n=0
for r in "${results[@]}"; do
  echo "$r"
  case "$r" in \[deps\]*) continue;; esac
  n=$((n + 1))
  grep -E '^deps: |tests passed, |^[0-9]+ passed, [0-9]+ failed|^Total Test time|Error|\*\*\*' \
    "$logs/command-$n.log" | sed 's/^/    /' | head -n 20 || true
done
[ "$failed" -eq 0 ] && echo "chroot-test: OK" || echo "chroot-test: FAILED"
exit "$failed"
