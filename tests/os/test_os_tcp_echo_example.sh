#!/bin/sh
# SPDX-License-Identifier: MIT
# The echo example end to end on loopback: echo_server --max-clients 1 on port 0 prints
# its real address; echo_client sends a line to it; the echo must come back byte for byte
# and both programs must exit 0. Everything is bounded by timeout(1). Waits are for the
# event (the address line, the server's exit), never for a fixed time: a loaded machine
# may start the server late, and only a broken one reaches the bounds.
# Usage: test_os_tcp_echo_example.sh ECHO_SERVER ECHO_CLIENT
set -u
server=$1
client=$2
dir=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null; rm -rf "$dir"' EXIT

timeout 20 "$server" 127.0.0.1:0 --max-clients 1 >"$dir/server.out" 2>"$dir/server.err" &
server_pid=$!

# Wait for the "listening on ADDR" line (one write, flushed), as long as the server runs:
# its timeout(1) bounds the wait, and a server that died ends it at once.
addr=
while :; do
  addr=$(sed -n 's/^listening on //p' "$dir/server.out")
  [ -n "$addr" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "FAIL: the server exited without printing an address"; cat "$dir/server.err"; exit 1
  fi
  sleep 0.05
done

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
