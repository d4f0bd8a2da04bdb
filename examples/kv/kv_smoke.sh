#!/bin/sh
# SPDX-License-Identifier: MIT
# The kv service on the real kernel, over loopback: kv_server on port 0 (it prints its real
# address) serving two clients one after the other; kv_cli stores a key on the first
# connection and reads it back, deletes it and misses it on the second. Every answer must
# be as expected and both programs must exit 0. Waits are for the event (the address
# line, the server's exit), never for a fixed time, and everything is bounded by
# timeout(1), so a loaded machine is slow but never fails.
# Usage: kv_smoke.sh KV_SERVER KV_CLI
set -u
server=$1
cli=$2
dir=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$dir"' EXIT

: >"$dir/server.out" # Exists before the server starts: the wait below reads it at once.
timeout 60 "$server" 127.0.0.1:0 --max-clients 2 >"$dir/server.out" 2>"$dir/server.err" &
server_pid=$!

# The "listening on ADDR" line comes in one flushed write; a server that died ends the wait.
addr=
while [ -z "$addr" ]; do
  addr=$(sed -n 's/^listening on //p' "$dir/server.out")
  [ -n "$addr" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL: kv_server exited without printing an address"; cat "$dir/server.err"; exit 1
  fi
  sleep 0.05
done

first=$(timeout 20 "$cli" "$addr" put greeting "hello gale" put other x get greeting)
first_status=$?
second=$(timeout 20 "$cli" "$addr" get greeting del greeting get greeting del greeting)
second_status=$?
wait "$server_pid"
server_status=$?
server_pid=
want_first=$(printf 'OK\nOK\nhello gale')
want_second=$(printf 'hello gale\nOK\nNOT_FOUND\nNOT_FOUND')
if [ "$first_status" -ne 0 ] || [ "$second_status" -ne 0 ] || [ "$server_status" -ne 0 ]; then
  echo "FAIL: kv_cli exits $first_status and $second_status, kv_server exit $server_status"
  cat "$dir/server.err"; exit 1
fi
if [ "$first" != "$want_first" ] || [ "$second" != "$want_second" ]; then
  echo "FAIL: answers:"; echo "$first"; echo "--"; echo "$second"; exit 1
fi
if [ "$(grep -c ': [0-9]* requests$' "$dir/server.err")" -ne 2 ] ||
   ! grep -q ': 3 requests$' "$dir/server.err" || ! grep -q ': 4 requests$' "$dir/server.err"; then
  echo "FAIL: kv_server's log:"; cat "$dir/server.err"; exit 1
fi
echo "PASS: kv_server at $addr answered 7 requests on 2 connections as expected"
