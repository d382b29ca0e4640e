#!/usr/bin/env bash
# Where the CPU goes on each side of bench/compare-etcd.sh: CPU time (user+system, from
# /proc/PID/stat and /usr/bin/time) per successful put of the load generator and of each server
# process, raftctl vs etcd, over one measured run after a warm-up. On a 2-core machine both
# sides are CPU-bound, so this says how much of the comparison is the client's cost.
#
#   bench/tools/cpu-per-op.sh [--nodes 3] [--clients 64] [--duration 20s]
#
# 127.0.0.1 only; every process it started is stopped on exit (trap) and its temp dir removed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NODES=3 CLIENTS=64 DURATION=20s
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    *) echo "Error: unknown argument $1" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d /tmp/raftctl-cpu.XXXXXX)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$ROOT"
ensure_etcd

TICK_MS=$((1000 / $(getconf CLK_TCK)))
cpu_ms() { awk -v t="$TICK_MS" '{print ($14 + $15) * t}' "/proc/$1/stat"; }
ARGS=(--clients "$CLIENTS" --value-size 100 --op put --json)

# measure NAME CLIENT-COMMAND... ; server pids in $SERVER_PIDS
measure() {
  local name=$1 before=() i=0 pid total=0 ops line
  shift
  "$@" --duration 5s >/dev/null 2>&1 # warm-up
  for pid in $SERVER_PIDS; do before+=("$(cpu_ms "$pid")"); done
  local load; load=$(load1)
  /usr/bin/time -f '%U %S' -o "$WORK/time" "$@" --duration "$DURATION" >"$WORK/out.json" 2>/dev/null
  ops=$(json_field "$WORK/out.json" ops)
  line="$name (load $load): $(json_field "$WORK/out.json" opsPerSec) ops/s; CPU µs per put:"
  for pid in $SERVER_PIDS; do
    local d=$(($(cpu_ms "$pid") - before[i]))
    total=$((total + d))
    line+=" server$((i + 1)) $((d * 1000 / ops))"
    i=$((i + 1))
  done
  local client_ms; client_ms=$(awk '{printf "%d", ($1 + $2) * 1000}' "$WORK/time")
  echo "$line; all servers $((total * 1000 / ops)); client $((client_ms * 1000 / ops)) (incl. its start-up)"
}

start_raft "$NODES"
SERVER_PIDS=$(raft_pids "$RAFT_DIR" | tr '\n' ' ')
measure raftctl env CI=1 "${RAFTCTL[@]}" bench --dir "$RAFT_DIR" "${ARGS[@]}"
stop_raft "$RAFT_DIR"

start_etcd "$NODES"
sleep 2
SERVER_PIDS="${ETCD_MEMBER_PIDS[*]}"
measure etcd env CI=1 node --import tsx "$ROOT/bench/etcd-client.ts" --endpoints "$ETCD_ENDPOINTS" "${ARGS[@]}"
stop_etcd
