#!/usr/bin/env bash
# House rule 1: syscalls, errno and epoll live in io/src/driver_epoll.c only.
# Scans the library sources (io/ net/ sim/) and fails listing every offending line.
# Public headers may include <sys/socket.h> for signatures; sources may include <errno.h>
# for E* constants but must not read errno.
set -u
root=${1:-.}
cd "$root" || exit 2
calls='read|write|readv|writev|recv|send|recvfrom|sendto|sendmsg|recvmsg|accept|accept4'
calls="$calls|connect|socket|bind|listen|close|pipe|pipe2|socketpair|shutdown|fcntl|ioctl"
calls="$calls|setsockopt|getsockopt|getsockname|getpeername|clock_gettime|gettimeofday"
calls="$calls|time|usleep|nanosleep|eventfd|poll|select|rand|srand|random"
# sim/cli/*.c is the `gale` command, a tool (it forks workers and times campaigns), not
# library code; its scenarios (sim/cli/scenarios/) run on the simulator and are checked.
files=$(find io net sim -name '*.c' -o -name '*.h' |
        grep -v -e '^io/src/driver_epoll\.c$' -e '^sim/cli/[^/]*\.[ch]$' | sort)
status=0
for f in $files; do
  # Strip one-line comments, and skip comment-block lines, so prose does not count.
  hits=$(sed -E 's#/\*.*\*/##g; s#//.*##' "$f" |
         grep -nE "(^|[^_.>a-zA-Z0-9])($calls)[[:space:]]*\(|\bepoll_[a-z]+\b|\berrno\b" |
         grep -vE '^[0-9]+:[[:space:]]*(\*|/\*|//)' |
         grep -vE '#include <errno\.h>' || true)
  case "$f" in
    */include/*) ;;
    *) sock=$(grep -n '<sys/socket.h>' "$f" || true)
       [ -n "$sock" ] && hits="$hits
$sock" ;;
  esac
  hits=$(printf '%s\n' "$hits" | sed '/^$/d')
  if [ -n "$hits" ]; then
    printf '%s\n' "$hits" | sed "s|^|$f:|"
    status=1
  fi
done
if [ $status -ne 0 ]; then
  echo "check-syscalls: the lines above call the OS (or read errno) outside io/src/driver_epoll.c" >&2
else
  echo "check-syscalls: OK (syscalls confined to io/src/driver_epoll.c; $(echo "$files" | wc -l) files scanned)"
fi
exit $status
