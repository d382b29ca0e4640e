#!/usr/bin/env bash
# raftctl under sustained load, and its start-up time:
#   1. `raftctl start --nodes N` on a fresh directory, timed until it returns with a leader
#      (repeated --starts times, default 5; each cluster stopped again);
#   2. one more fresh N-node cluster, `raftctl bench --clients C --duration D --op put` (default
#      5 nodes, 64 clients, 30 s): leader changes seen during the run, throughput, latencies;
#   3. the replicas' resident memory (VmRSS from /proc/PID/status): sampled every 0.5 s during
#      the run (median and largest sample), at its end, and the kernel's peak (VmHWM).
#
#   bench/tools/soak.sh [--nodes 5] [--clients 64] [--duration 30s] [--starts 5]
#
# 127.0.0.1 only; every replica it started is stopped on exit (trap) and its temp dir removed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NODES=5 CLIENTS=64 DURATION=30s STARTS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --starts) STARTS=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "Error: unknown argument $1" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d /tmp/raftctl-soak.XXXXXX)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$ROOT"
[ -f dist/commands/bench.js ] || npm run build >/dev/null

echo "# start --nodes $NODES until it returns with a leader"
for i in $(seq 1 "$STARTS"); do
  load=$(wait_for_quiet)
  start_raft "$NODES"
  echo "start $i: ${RAFT_START_MS} ms (load $load)"
  stop_raft "$RAFT_DIR"
done

load=$(wait_for_quiet)
start_raft "$NODES"
echo "# bench: $NODES nodes, $CLIENTS clients, $DURATION, put, 100-byte values (load $load at start)"
# Every 0.5 s during the run, each replica's VmRSS (kB) goes to $WORK/rss-<id>.
sample_rss() {
  while :; do
    for id in $(seq 1 "$NODES"); do
      awk '/^VmRSS/ {print $2}' "/proc/$(cat "$RAFT_DIR/node-$id/replica.pid")/status" >>"$WORK/rss-$id" 2>/dev/null || true
    done
    sleep 0.5
  done
}
sample_rss &
SAMPLER=$!
CI=1 "${RAFTCTL[@]}" bench --dir "$RAFT_DIR" --clients "$CLIENTS" --duration "$DURATION" --op put --json >"$WORK/soak.json"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
echo "load at end: $(load1)"
cat "$WORK/soak.json"
echo "# replica VmRSS: at the end of the run; the median and the largest of the samples taken every 0.5 s during it; VmHWM (the kernel's peak)"
for id in $(seq 1 "$NODES"); do
  pid=$(cat "$RAFT_DIR/node-$id/replica.pid")
  end=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  stats=$(sort -n "$WORK/rss-$id" | awk '{a[NR] = $1} END {printf "median %.1f MB, max %.1f MB over %d samples", a[int((NR + 1) / 2)] / 1024, a[NR] / 1024, NR}')
  echo "node $id (pid $pid): end $end MB; $stats; VmHWM $hwm MB"
done
stop_raft "$RAFT_DIR"
