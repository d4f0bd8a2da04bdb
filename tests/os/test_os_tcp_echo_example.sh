#!/bin/sh
# SPDX-License-Identifier: MIT
# The echo example end to end on loopback: echo_server --max-clients 1 on port 0 prints
# its real address; echo_client sends a line to it; the echo must come back byte for byte
# and both programs must exit 0. Everything is bounded by timeout(1).
# Usage: test_os_tcp_echo_example.sh ECHO_SERVER ECHO_CLIENT
set -u
server=$1
client=$2
dir=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null; rm -rf "$dir"' EXIT

timeout 20 "$server" 127.0.0.1:0 --max-clients 1 >"$dir/server.out" 2>"$dir/server.err" &
server_pid=$!

# Wait (bounded) for the "listening on ADDR" line.
addr=
for _ in $(seq 1 100); do
  addr=$(sed -n 's/^listening on //p' "$dir/server.out")
  [ -n "$addr" ] && break
  sleep 0.05
done
if [ -z "$addr" ]; then
  echo "FAIL: the server printed no address"; cat "$dir/server.err"; exit 1
fi

echoed=$(timeout 10 "$client" "$addr" hello gale echo)
client_status=$?
wait "$server_pid"
server_status=$?
if [ "$client_status" -ne 0 ] || [ "$server_status" -ne 0 ]; then
  echo "FAIL: client exit $client_status, server exit $server_status"
  cat "$dir/server.err"; exit 1
fi
if [ "$echoed" != "hello gale echo" ]; then
  echo "FAIL: echoed '$echoed'"; exit 1
fi
if ! grep -q ': 16 bytes echoed$' "$dir/server.err"; then
  echo "FAIL: server log:"; cat "$dir/server.err"; exit 1
fi
echo "PASS: $addr echoed '$echoed'"
