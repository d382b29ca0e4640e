#!/usr/bin/env bash
# raftctl vs etcd 3.4, put throughput, latency and server CPU per put, on this machine, on
# 127.0.0.1 only; each system driven by its own load generator.
#
#   bench/compare-etcd.sh [--nodes 3] [--clients 64] [--conns CLIENTS/4] [--duration 10s]
#                         [--value-size 100] [--keys 1000] [--rounds 2] [--warmup 5s]
#
# raftctl: `raftctl bench` (--clients C --conns N, --value-size, --keys, --duration): C clients,
# each its own session, sharing N connections per node round-robin. etcd: etcd's own Go
# benchmark tool (its tools/benchmark, v3.4.23, built by bench/etcd-benchmark/build.sh, or
# ETCD_BENCHMARK=path), `put --target-leader --clients C --conns N --key-space-size K --val-size V
# --key-size 8`: C clients multiplexed over N gRPC connections to the leader, as etcd is meant to
# be driven (--conns defaults to C/4: 16 connections for 64 clients served etcd best here; both
# systems get the same N). The
# etcd server is $ETCD_BIN, `etcd` on the PATH, or Debian's etcd-server package unpacked into
# /tmp/raftctl-etcd-server (never installed: no service starts).
#
# Each round runs A (raftctl) then B (etcd), each on a fresh cluster that is stopped before the
# other starts: A B A B for 2 rounds. Before each measured run the same load runs for --warmup and
# is discarded (a fresh Node replica needs a few seconds of JIT warm-up; for etcd the warm-up also
# times the tool, which takes a count of puts, so that its measured run lasts about --duration).
# Both durable (fsync before acknowledging), both with default timing.
#
# Each run prints the 1-minute load before and after it, the CPU the hypervisor stole during it
# (steal%, from /proc/stat), puts/s, p50/p99, errors, the CPU (user + system, from /proc/PID/stat)
# of all server processes per successful put, and for raftctl what its leader did (entries per
# fsync and per AppendEntries, fsyncs/s, the share of its time in fsync, its CPU). Then means,
# medians and the ratios raftctl/etcd. Waits (bounded) for a quiet machine before each run:
# LOAD_MAX (default 1.5), STEAL_MAX (percent, default 10), LOAD_WAIT (default 180 s). Every
# process it starts is stopped on exit (trap), and its temp dir removed (KEEP_WORK=1 keeps it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODES=3 CLIENTS=64 CONNS="" DURATION=10s VALUE_SIZE=100 KEYS=1000 ROUNDS=2 WARMUP=5s
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --value-size) VALUE_SIZE=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "Error: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$CONNS" ] || CONNS=$(((CLIENTS + 3) / 4))
# 10s, 1500ms, 2m, 0 -> seconds
seconds() { awk -v d="$1" 'BEGIN {n = d + 0; u = substr(d, length(n "") + 1); print u == "ms" ? n / 1000 : u == "m" ? n * 60 : n}'; }
DURATION_S=$(seconds "$DURATION")
WARMUP_S=$(seconds "$WARMUP")

WORK=$(mktemp -d /tmp/raftctl-vs-etcd.XXXXXX)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

ETCD_GIVEN=${ETCD_BIN:-} BENCHMARK_GIVEN=${ETCD_BENCHMARK:-}
if ! ensure_etcd; then
  if [ -n "$ETCD_GIVEN" ]; then echo "Error: ETCD_BIN=$ETCD_GIVEN is not an executable etcd" >&2
  else echo "Error: no etcd server binary: no etcd on the PATH, and Debian's etcd-server package could not be downloaded (apt-get download etcd-server)" >&2; fi
  exit 1
fi
if ! ensure_etcd_benchmark; then
  if [ -n "$BENCHMARK_GIVEN" ]; then echo "Error: ETCD_BENCHMARK=$BENCHMARK_GIVEN is not an executable" >&2
  else echo "Error: etcd's load generator could not be built (bench/etcd-benchmark/build.sh, log above); build it and set ETCD_BENCHMARK to its path" >&2; fi
  exit 1
fi
[ -f "$ROOT/dist/commands/bench.js" ] || (cd "$ROOT" && npm run build >/dev/null)
log "$("$ETCD_BIN" --version | head -1) ($ETCD_BIN); load generator $ETCD_BENCHMARK"

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
# Per run: system round load-before load-after steal% puts/s p50ms p99ms errors cpu-us/put
# entries/fsync entries/AppendEntries leader-fsyncs/s leader-fsync-busy% leader-cpu% seconds.
row() { local IFS=$'\t'; echo "$*" >>"$RESULTS"; }
us_per_put() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN {printf "%.0f", (n > 0 ? t * 1e6 / hz / n : 0)}'; }

run_raftctl() {
  local round=$1 load steal cpu0 ticks0 pids out="$WORK/raftctl-$1.json" ops tput p50 p99 errors epf epa fps fbusy lcpu secs
  load=$(wait_for_quiet)
  start_raft "$NODES"
  mapfile -t pids < <(raft_pids "$RAFT_DIR")
  log "raftctl round $round (load $load): ${NODES} nodes, ${CLIENTS} clients over ${CONNS} connections, ${DURATION}"
  local args=(--dir "$RAFT_DIR" --clients "$CLIENTS" --conns "$CONNS" --value-size "$VALUE_SIZE" --keys "$KEYS" --op put --no-report --json)
  if [ "$WARMUP" != 0 ]; then CI=1 "${RAFTCTL[@]}" bench "${args[@]}" --duration "$WARMUP" >/dev/null 2>&1; fi
  load=$(load1)
  cpu0=$(cpu_jiffies)
  ticks0=$(cpu_ticks "${pids[@]}")
  CI=1 "${RAFTCTL[@]}" bench "${args[@]}" --duration "$DURATION" >"$out"
  local ticks=$(($(cpu_ticks "${pids[@]}") - ticks0))
  steal=$(steal_pct "$cpu0")
  stop_raft "$RAFT_DIR"
  local f
  f=$(node -e 'const d = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")), m = d.mechanics ?? {};
    console.log([d.ops, d.opsPerSec, d.latencyMs.p50, d.latencyMs.p99, d.errors, m.entriesPerFsync ?? "-", m.entriesPerAppend ?? "-",
      m.fsyncsPerSec ?? "-", m.fsyncBusyPercent ?? "-", m.cpuPercent ?? "-", d.elapsedMs / 1000].join(" "))' "$out")
  read -r ops tput p50 p99 errors epf epa fps fbusy lcpu secs <<<"$f"
  row raftctl "$round" "$load" "$(load1)" "$steal" "$tput" "$p50" "$p99" "$errors" "$(us_per_put "$ticks" "$ops")" "$epf" "$epa" "$fps" "$fbusy" "$lcpu" "$secs"
}

# etcd's tool prints a summary: "Total: S secs.", "Requests/sec: R", "50% in S secs." ... and
# "Error distribution:" with "[N] message" lines. -> "seconds puts/s p50ms p99ms errors".
parse_etcd() {
  awk '/^ *Total:/ {t = $2} /Requests\/sec:/ {r = $2} /^ *50% in/ {p50 = $3 * 1000} /^ *99% in/ {p99 = $3 * 1000}
    /Error distribution/ {e = 1; next} e && /^ *\[[0-9]+\]/ {match($0, /\[[0-9]+\]/); errs += substr($0, RSTART + 1, RLENGTH - 2)}
    END {printf "%.2f %.1f %.3f %.3f %d\n", t, r, p50, p99, errs}' "$1"
}

ETCD_RATE=3000 # puts/s, a first guess for sizing the warm-up; then each warm-up's own rate
run_etcd() {
  local round=$1 load steal cpu0 ticks0 out="$WORK/etcd-$1.txt" total secs tput p50 p99 errors
  load=$(wait_for_quiet)
  start_etcd "$NODES"
  etcd_healthy 20
  log "etcd round $round (load $load): ${NODES} members, ${CLIENTS} clients over ${CONNS} connections, ~${DURATION}"
  local eps args
  eps=$(echo "$ETCD_ENDPOINTS" | sed 's#http://##g')
  args=(put --endpoints "$eps" --target-leader --clients "$CLIENTS" --conns "$CONNS" --precise
    --key-size 8 --val-size "$VALUE_SIZE" --key-space-size "$KEYS")
  if [ "$WARMUP" != 0 ]; then
    total=$(awk -v r="$ETCD_RATE" -v s="$WARMUP_S" 'BEGIN {printf "%d", (r * s < 1000 ? 1000 : r * s)}')
    "$ETCD_BENCHMARK" "${args[@]}" --total "$total" >"$WORK/etcd-warm.txt" 2>"$WORK/etcd-warm.err"
    ETCD_RATE=$(parse_etcd "$WORK/etcd-warm.txt" | awk '{printf "%d", ($2 > 0 ? $2 : 3000)}')
  fi
  total=$(awk -v r="$ETCD_RATE" -v s="$DURATION_S" 'BEGIN {printf "%d", (r * s < 1000 ? 1000 : r * s)}')
  load=$(load1)
  cpu0=$(cpu_jiffies)
  ticks0=$(cpu_ticks "${ETCD_MEMBER_PIDS[@]}")
  "$ETCD_BENCHMARK" "${args[@]}" --total "$total" >"$out" 2>"$out.err"
  local ticks=$(($(cpu_ticks "${ETCD_MEMBER_PIDS[@]}") - ticks0))
  steal=$(steal_pct "$cpu0")
  stop_etcd
  read -r secs tput p50 p99 errors <<<"$(parse_etcd "$out")"
  row etcd "$round" "$load" "$(load1)" "$steal" "$tput" "$p50" "$p99" "$errors" "$(us_per_put "$ticks" $((total - errors)))" - - - - - "$secs"
}

cd "$ROOT"
for round in $(seq 1 "$ROUNDS"); do
  run_raftctl "$round"
  run_etcd "$round"
done

echo "# ${NODES} nodes, ${CLIENTS} clients (both over ${CONNS} connections), ${VALUE_SIZE}-byte values, ${KEYS} keys, ~${DURATION} per run after ${WARMUP} warm-up, put; $(nproc) cores"
printf 'system\tround\tload1\tload1-after\tsteal%%\tputs/s\tp50ms\tp99ms\terrors\tcpu-us/put\tentries/fsync\tentries/AE\tfsyncs/s\tfsync-busy%%\tleader-cpu%%\tseconds\n'
cat "$RESULTS"
node -e '
  const rows = require("node:fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"))
  const vals = (sys, col) => rows.filter((r) => r[0] === sys).map((r) => Number(r[col]))
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length
  const median = (v) => { const s = [...v].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
  const stats = (sys) => ({tput: vals(sys, 5), p99: vals(sys, 7), cpu: vals(sys, 9)})
  const r = stats("raftctl"), e = stats("etcd")
  const line = (name, x) => `${name} mean ${mean(x.tput).toFixed(0)} puts/s, p99 ${mean(x.p99).toFixed(1)} ms, ${mean(x.cpu).toFixed(0)} us CPU/put; median ${median(x.tput).toFixed(0)} puts/s, p99 ${median(x.p99).toFixed(1)} ms, ${median(x.cpu).toFixed(0)} us CPU/put`
  const ratio = (k) => `${(mean(r[k]) / mean(e[k])).toFixed(2)} (of means), ${(median(r[k]) / median(e[k])).toFixed(2)} (of medians)`
  console.log(line("raftctl", r))
  console.log(line("etcd   ", e))
  console.log(`ratio put throughput   raftctl/etcd: ${ratio("tput")}`)
  console.log(`ratio p99 latency      raftctl/etcd: ${ratio("p99")}`)
  console.log(`ratio server CPU / put raftctl/etcd: ${ratio("cpu")}`)' "$RESULTS"
