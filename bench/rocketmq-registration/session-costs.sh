#!/usr/bin/env bash
# What 1,000 idle gRPC broker sessions cost the NameServer, split by cause: the compiled server (dist/)
# and grpc-fleet.ts with 1,000 BrokerAgents of 10 topics each, then the server's CPU (utime + stime,
# /proc/PID/stat) over 60 s after a 15 s settle, for each interval setting given.
#
#   bash bench/rocketmq-registration/session-costs.sh            # the four settings of bench/README.md
#   bash bench/rocketmq-registration/session-costs.sh 10000 600000 600000   # heartbeat, client ping, server ping (ms)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build-if-needed.sh >/dev/null
run() {
  local hb=$1 cka=$2 ska=$3 log out spid fpid a b
  log=$(mktemp); out=$(mktemp)
  node dist/src/server/main.js --listen 127.0.0.1:0 --warmup-ms 0 --log-level info --keepalive-time-ms "$ska" >"$log" 2>&1 &
  spid=$!
  until grep -q '"port"' "$log"; do sleep 0.2; done
  local port; port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2)
  node --import tsx bench/rocketmq-registration/grpc-fleet.ts "$port" 1000 10 8 "$hb" "$cka" >"$out" 2>/dev/null &
  fpid=$!
  until grep -q registered "$out"; do sleep 0.5; done
  sleep 15
  a=$(awk '{print $14+$15}' /proc/$spid/stat); sleep 60; b=$(awk '{print $14+$15}' /proc/$spid/stat)
  echo "heartbeat ${hb} ms, client ping ${cka} ms, server ping ${ska} ms: $(awk -v t=$((b - a)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }') CPU s per minute"
  kill "$fpid" "$spid"; wait "$spid" 2>/dev/null || true; rm -f "$log" "$out"
}
if [ $# -eq 3 ]; then run "$@"; exit; fi
run 600000 600000 600000
run 10000 600000 600000
run 600000 10000 10000
run 10000 10000 10000
