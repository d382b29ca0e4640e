# Shared helpers of the benchmark scripts (sourced, not run). Everything here binds 127.0.0.1
# only, keeps its clusters under $WORK, and records every process it starts so the caller's
# `trap cleanup EXIT` can stop exactly those (never by name).
#
# The caller sets ROOT (the repository) and WORK (a fresh temp dir), then sources this file.

RAFTCTL=(node "$ROOT/bin/run.js")
ETCD_PIDS=()
RAFT_DIRS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# "total steal" jiffies of all CPUs (/proc/stat). The hypervisor's steal time is CPU this VM
# wanted but did not get; the load average does not show it, and it swings results by 2x here.
cpu_jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9}' /proc/stat; }

# steal_pct "TOTAL STEAL" (from cpu_jiffies before a run): percentage stolen since then.
steal_pct() {
  local now
  now=$(cpu_jiffies)
  awk -v a="$1" -v b="$now" 'BEGIN {split(a, x, " "); split(b, y, " "); d = y[1] - x[1]; v = d > 0 ? 100 * (y[2] - x[2]) / d : 0; printf "%.0f", v}'
}

# Percentage of CPU stolen during the next 2 seconds.
steal_now() {
  local before
  before=$(cpu_jiffies)
  sleep 2
  steal_pct "$before"
}

# Other people's test suites share this machine, and other VMs its host: wait (bounded) until the
# 1-minute load is below LOAD_MAX (default 1.5) and the CPU steal over 2 s below STEAL_MAX percent
# (default 10), checking every 20 s for at most LOAD_WAIT seconds (default 180), then go on
# regardless. Prints the load it starts at.
wait_for_quiet() {
  local max=${LOAD_MAX:-1.5} smax=${STEAL_MAX:-10} waited=0 limit=${LOAD_WAIT:-180} steal
  while [ "$waited" -lt "$limit" ]; do
    steal=$(steal_now)
    if awk -v l="$(load1)" -v m="$max" 'BEGIN{exit !(l<m)}' && [ "$steal" -lt "$smax" ]; then break; fi
    log "load $(load1) (max $max), CPU steal ${steal}% (max ${smax}%); waiting ($waited/${limit}s)"
    sleep 18
    waited=$((waited + 20))
  done
  load1
}

# A base port P with P+1..P+n free on 127.0.0.1 (random start in 20000..29999).
free_base_port() {
  node -e '
    const net = require("node:net"); const n = Number(process.argv[1]);
    const free = (p) => new Promise((r) => { const s = net.createServer(); s.once("error", () => r(false));
      s.listen({host: "127.0.0.1", port: p, exclusive: true}, () => s.close(() => r(true))) });
    (async () => { for (;;) { const base = 20000 + Math.floor(Math.random() * 9900);
      let ok = true; for (let i = 1; i <= n && ok; i++) ok = await free(base + i);
      if (ok) { console.log(base); return } } })();' "$1"
}

# ---------------------------------------------------------------------------------- raftctl

# start_raft N -> sets RAFT_DIR (a fresh cluster directory under $WORK) and RAFT_START_MS (how
# long `raftctl start` took to return with a leader). Not in a subshell: it records the directory.
start_raft() {
  local n=$1 base t0
  RAFT_DIR=$(mktemp -d "$WORK/raft-$n.XXXX")
  base=$(free_base_port "$n")
  RAFT_DIRS+=("$RAFT_DIR")
  t0=$(date +%s%N)
  "${RAFTCTL[@]}" start --nodes "$n" --dir "$RAFT_DIR" --base-port "$base" >/dev/null 2>"$RAFT_DIR.start.err" || {
    cat "$RAFT_DIR.start.err" >&2
    return 1
  }
  RAFT_START_MS=$((($(date +%s%N) - t0) / 1000000))
}

stop_raft() {
  "${RAFTCTL[@]}" stop --dir "$1" >/dev/null 2>&1 || true
}

# cpu_ticks PID...: their CPU time so far (utime + stime, in clock ticks of getconf CLK_TCK).
cpu_ticks() {
  local pid t=0
  # Fields 14 and 15 of /proc/PID/stat, counted after the command name (which may hold spaces).
  for pid in "$@"; do t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$pid/stat"))); done
  echo "$t"
}

# Replica pids of a raftctl cluster directory.
raft_pids() {
  cat "$1"/node-*/replica.pid 2>/dev/null || true
}

# ---------------------------------------------------------------------------------- etcd

# ensure_etcd -> sets ETCD_BIN, an etcd 3.4 server binary: $ETCD_BIN if set, else `etcd` on the
# PATH, else the binary of Debian's etcd-server package unpacked (dpkg -x, never installed, so no
# service starts) into ETCD_CACHE (default /tmp/raftctl-etcd-server). Fails if none can be had.
ensure_etcd() {
  local cache=${ETCD_CACHE:-/tmp/raftctl-etcd-server} deb
  if [ -n "${ETCD_BIN:-}" ]; then [ -x "$ETCD_BIN" ]; return; fi
  if ETCD_BIN=$(command -v etcd); then return 0; fi
  ETCD_BIN=$cache/usr/bin/etcd
  [ -x "$ETCD_BIN" ] && return 0
  log "etcd not found; unpacking Debian's etcd-server package into $cache"
  mkdir -p "$cache/deb"
  (cd "$cache/deb" && { apt-get download etcd-server >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get download etcd-server >/dev/null 2>&1; }; }) || return 1
  deb=$(ls "$cache"/deb/etcd-server_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] && dpkg -x "$deb" "$cache" && [ -x "$ETCD_BIN" ]
}

# ensure_etcd_benchmark -> sets ETCD_BENCHMARK, etcd's own load generator (its tools/benchmark):
# $ETCD_BENCHMARK if set, else what bench/etcd-benchmark/build.sh builds (offline, from the source
# kept beside it, with Debian's Go packages) and prints. Fails if neither works.
ensure_etcd_benchmark() {
  if [ -n "${ETCD_BENCHMARK:-}" ]; then [ -x "$ETCD_BENCHMARK" ]; return; fi
  ETCD_BENCHMARK=$("$ROOT/bench/etcd-benchmark/build.sh" 2>"$WORK/etcd-benchmark-build.log" | tail -1) && [ -x "$ETCD_BENCHMARK" ] && return 0
  cat "$WORK/etcd-benchmark-build.log" >&2
  return 1
}

# start_etcd N -> sets ETCD_ENDPOINTS (comma-separated client URLs) and ETCD_DIR; appends the
# members' pids to ETCD_PIDS. Defaults everywhere (durable WAL with fsync, heartbeat 100 ms,
# election timeout 1000 ms) except addresses and data dirs.
start_etcd() {
  local n=$1 base cluster="" i
  ETCD_DIR=$(mktemp -d "$WORK/etcd-$n.XXXX")
  base=$(free_base_port $((2 * n)))
  for i in $(seq 1 "$n"); do cluster+="${cluster:+,}e$i=http://127.0.0.1:$((base + n + i))"; done
  ETCD_ENDPOINTS=""
  ETCD_MEMBER_PIDS=()
  for i in $(seq 1 "$n"); do
    local client=$((base + i)) peer=$((base + n + i))
    ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}http://127.0.0.1:$client"
    env -u ETCD_NAME -u ETCD_DATA_DIR "$ETCD_BIN" --name "e$i" --data-dir "$ETCD_DIR/e$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "bench-$base" \
      --logger zap --log-outputs "$ETCD_DIR/e$i.log" >/dev/null 2>&1 &
    ETCD_PIDS+=($!)
    ETCD_MEMBER_PIDS+=($!)
  done
}

# etcd_healthy TIMEOUT_S: waits until every member's /health says true (a leader, and a quorum
# read works); fails after TIMEOUT_S seconds.
etcd_healthy() {
  node -e '
    const urls = process.argv[1].split(","), deadline = Date.now() + Number(process.argv[2]) * 1000;
    const ok = (u) => fetch(u + "/health").then((r) => r.json()).then((j) => j.health === "true", () => false);
    (async () => { for (;;) { if ((await Promise.all(urls.map(ok))).every(Boolean)) return;
      if (Date.now() > deadline) { console.error("etcd: no healthy cluster within " + process.argv[2] + " s"); process.exit(1) }
      await new Promise((r) => setTimeout(r, 100)) } })();' "$ETCD_ENDPOINTS" "$1"
}

stop_etcd() {
  local pid
  for pid in "${ETCD_MEMBER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${ETCD_MEMBER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  ETCD_MEMBER_PIDS=()
}

# ---------------------------------------------------------------------------------- cleanup

cleanup() {
  local pid dir
  for dir in "${RAFT_DIRS[@]}"; do stop_raft "$dir"; done
  for pid in "${ETCD_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${ETCD_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${ETCD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}

# Field of a bench JSON document: json_field FILE opsPerSec | latencyMs.p99 ...
json_field() {
  node -e 'const d = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    console.log(process.argv[2].split(".").reduce((o, k) => o[k], d))' "$1" "$2"
}
