#!/usr/bin/env bash
# raftctl vs etcd 3.4, put throughput and p99 latency, on this machine, on 127.0.0.1 only.
#
#   bench/compare-etcd.sh [--nodes 3] [--clients 64] [--duration 10s] [--value-size 100]
#                         [--rounds 2] [--warmup 5s] [--target leader|all]
#
# Installs Debian's etcd-server (3.4) if etcd is missing. Each round runs A (raftctl) then B
# (etcd), each on a fresh cluster that is stopped before the other starts, so the two never
# share the CPU: A B A B for 2 rounds. Both sides are driven by the same closed-loop/percentile
# code in Node (raftctl bench; bench/etcd-client.ts over etcd's gRPC API), each client with its
# own connection, pointed at the leader. Before each measured run, the same load runs for
# --warmup (default 5 s; 0 for none) and is discarded: a fresh Node replica needs a few seconds
# of JIT warm-up that a Go binary does not. Both use their default timing and are durable (fsync
# before acknowledging). Prints every run (with the 1-minute load when it started) and the
# ratios raftctl/etcd of throughput and p99, of the means and of the medians over the rounds, and
# for each run the share of CPU the hypervisor stole during it (steal%). Waits (bounded) for a
# quiet machine before each run: LOAD_MAX (default 1.5), STEAL_MAX (percent, default 10),
# LOAD_WAIT (default 180 s).
# Every process it starts is stopped on exit (trap), and its temp dir removed (KEEP_WORK=1 keeps it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODES=3 CLIENTS=64 DURATION=10s VALUE_SIZE=100 ROUNDS=2 TARGET=leader WARMUP=5s
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --value-size) VALUE_SIZE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "Error: unknown argument $1" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d /tmp/raftctl-vs-etcd.XXXXXX)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -f "$ROOT/dist/commands/bench.js" ] || (cd "$ROOT" && npm run build >/dev/null)
HAVE_ETCD=1
ensure_etcd || { log "etcd could not be installed: measuring raftctl alone"; HAVE_ETCD=0; }
if [ "$HAVE_ETCD" = 1 ]; then log "$(etcd --version | head -1)"; fi

BENCH_ARGS=(--clients "$CLIENTS" --duration "$DURATION" --value-size "$VALUE_SIZE" --op put --json)
WARM_ARGS=(--clients "$CLIENTS" --duration "$WARMUP" --value-size "$VALUE_SIZE" --op put --json)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

run_raftctl() {
  local round=$1 load cpu steal out="$WORK/raftctl-$1.json"
  load=$(wait_for_quiet)
  start_raft "$NODES"
  log "raftctl round $round (load $load): ${NODES} nodes, ${CLIENTS} clients, ${DURATION}"
  if [ "$WARMUP" != 0 ]; then CI=1 "${RAFTCTL[@]}" bench --dir "$RAFT_DIR" "${WARM_ARGS[@]}" >/dev/null 2>&1; fi
  cpu=$(cpu_jiffies)
  CI=1 "${RAFTCTL[@]}" bench --dir "$RAFT_DIR" "${BENCH_ARGS[@]}" >"$out"
  steal=$(steal_pct "$cpu")
  stop_raft "$RAFT_DIR"
  printf 'raftctl\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$load" "$steal" "$(json_field "$out" opsPerSec)" \
    "$(json_field "$out" latencyMs.p50)" "$(json_field "$out" latencyMs.p99)" "$(json_field "$out" errors)" >>"$RESULTS"
}

run_etcd() {
  local round=$1 load cpu steal out="$WORK/etcd-$1.json"
  load=$(wait_for_quiet)
  start_etcd "$NODES"
  log "etcd round $round (load $load): ${NODES} members, ${CLIENTS} clients, ${DURATION}"
  if [ "$WARMUP" != 0 ]; then
    CI=1 node --import tsx "$ROOT/bench/etcd-client.ts" --endpoints "$ETCD_ENDPOINTS" --target "$TARGET" "${WARM_ARGS[@]}" >/dev/null 2>&1
  fi
  cpu=$(cpu_jiffies)
  CI=1 node --import tsx "$ROOT/bench/etcd-client.ts" --endpoints "$ETCD_ENDPOINTS" --target "$TARGET" "${BENCH_ARGS[@]}" >"$out"
  steal=$(steal_pct "$cpu")
  stop_etcd
  printf 'etcd\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$load" "$steal" "$(json_field "$out" opsPerSec)" \
    "$(json_field "$out" latencyMs.p50)" "$(json_field "$out" latencyMs.p99)" "$(json_field "$out" errors)" >>"$RESULTS"
}

cd "$ROOT"
for round in $(seq 1 "$ROUNDS"); do
  run_raftctl "$round"
  if [ "$HAVE_ETCD" = 1 ]; then run_etcd "$round"; fi
done

echo "# ${NODES} nodes, ${CLIENTS} clients, ${VALUE_SIZE}-byte values, ${DURATION} per run after ${WARMUP} warm-up, put; $(nproc) cores"
printf 'system\tround\tload1\tsteal%%\tops/s\tp50ms\tp99ms\terrors\n'
cat "$RESULTS"
node -e '
  const rows = require("node:fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"))
  const vals = (sys, col) => rows.filter((r) => r[0] === sys).map((r) => Number(r[col]))
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length
  const median = (v) => { const s = [...v].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
  const stats = (sys) => ({tput: vals(sys, 4), p99: vals(sys, 6)})
  const r = stats("raftctl")
  const line = (name, x) => `${name} mean ${mean(x.tput).toFixed(0)} ops/s, p99 ${mean(x.p99).toFixed(1)} ms; median ${median(x.tput).toFixed(0)} ops/s, p99 ${median(x.p99).toFixed(1)} ms`
  console.log(line("raftctl", r))
  if (rows.some((x) => x[0] === "etcd")) {
    const e = stats("etcd")
    console.log(line("etcd   ", e))
    console.log(`ratio put throughput raftctl/etcd: ${(mean(r.tput) / mean(e.tput)).toFixed(2)} (of means), ${(median(r.tput) / median(e.tput)).toFixed(2)} (of medians)`)
    console.log(`ratio p99 latency    raftctl/etcd: ${(mean(r.p99) / mean(e.p99)).toFixed(2)} (of means), ${(median(r.p99) / median(e.p99)).toFixed(2)} (of medians)`)
  }' "$RESULTS"
