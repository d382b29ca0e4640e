// A benchmark run over time, in bounded memory: fixed-width time bins (at most MAX_BINS), each with
// its count of successful and failed operations and a log-bucketed latency histogram, from which
// per-bin percentiles are estimated (within one bucket, ~19 %). The run's overall percentiles stay
// exact (LatencyRecorder); this is for the report's throughput and latency-over-time charts, and
// the whole-run histogram. Pure: times are handed in.

/** Bucket i holds latencies in [BASE_MS * 2^(i/STEPS), BASE_MS * 2^((i+1)/STEPS)). */
export const BUCKET_BASE_MS = 0.01
const STEPS = 4
export const BUCKETS = 96 // up to ~0.01 ms * 2^24 = 168 s
export const MAX_BINS = 1200

export function bucketOf(ms: number): number {
  if (!(ms > BUCKET_BASE_MS)) return 0
  return Math.min(BUCKETS - 1, Math.floor(Math.log2(ms / BUCKET_BASE_MS) * STEPS))
}

/** The lower edge of bucket i (ms). */
export function bucketLowMs(i: number): number {
  return BUCKET_BASE_MS * 2 ** (i / STEPS)
}

/** A bucket's representative latency: its geometric middle. */
export function bucketMidMs(i: number): number {
  return BUCKET_BASE_MS * 2 ** ((i + 0.5) / STEPS)
}

/** Bin width for a run of `durationMs`: 100 ms, or wider so that the run fits in ~600 bins. */
export function binWidthFor(durationMs: number): number {
  return Math.max(100, Math.ceil(durationMs / 600 / 100) * 100)
}

export interface TimelineBin {
  /** Start of the bin, ms since the run started. */
  t: number
  ok: number
  errors: number
  /** Estimated from the bin's histogram; null without successful operations. */
  p50: number | null
  p99: number | null
  max: number | null
}

/** What a bench run saves and the report draws: bins plus the whole-run histogram. */
export interface TimelineData {
  binMs: number
  bins: TimelineBin[]
  /** Whole-run histogram: [bucket lower edge ms, count] for each non-empty bucket. */
  histogram: [number, number][]
}

export class OpTimeline {
  private readonly counts: Uint32Array
  private readonly ok: Uint32Array
  private readonly errors: Uint32Array
  private readonly maxMs: Float64Array
  private used = 0

  constructor(readonly binMs: number) {
    this.counts = new Uint32Array(MAX_BINS * BUCKETS)
    this.ok = new Uint32Array(MAX_BINS)
    this.errors = new Uint32Array(MAX_BINS)
    this.maxMs = new Float64Array(MAX_BINS)
  }

  private bin(atMs: number): number {
    const b = Math.min(MAX_BINS - 1, Math.max(0, Math.floor(atMs / this.binMs)))
    if (b >= this.used) this.used = b + 1
    return b
  }

  /** A successful operation that completed `atMs` after the start and took `latencyMs`. */
  add(atMs: number, latencyMs: number): void {
    const b = this.bin(atMs)
    this.ok[b]!++
    this.counts[b * BUCKETS + bucketOf(latencyMs)]!++
    if (latencyMs > this.maxMs[b]!) this.maxMs[b] = latencyMs
  }

  error(atMs: number): void {
    this.errors[this.bin(atMs)]!++
  }

  data(): TimelineData {
    const bins: TimelineBin[] = []
    const total = new Float64Array(BUCKETS)
    for (let b = 0; b < this.used; b++) {
      const row = this.counts.subarray(b * BUCKETS, (b + 1) * BUCKETS)
      for (let i = 0; i < BUCKETS; i++) total[i]! += row[i]!
      const n = this.ok[b]!
      bins.push({
        t: b * this.binMs,
        ok: n,
        errors: this.errors[b]!,
        p50: n > 0 ? round3(histogramPercentile(row, 50)) : null,
        p99: n > 0 ? round3(histogramPercentile(row, 99)) : null,
        max: n > 0 ? round3(this.maxMs[b]!) : null,
      })
    }
    const histogram: [number, number][] = []
    for (let i = 0; i < BUCKETS; i++) if (total[i]! > 0) histogram.push([round3(bucketLowMs(i)), total[i]!])
    return {binMs: this.binMs, bins, histogram}
  }
}

/** Nearest-rank percentile of a bucketed histogram, as the bucket's middle. */
export function histogramPercentile(row: ArrayLike<number>, p: number): number {
  let n = 0
  for (let i = 0; i < row.length; i++) n += row[i]!
  if (n === 0) return 0
  const rank = Math.max(1, Math.ceil((p / 100) * n))
  let seen = 0
  for (let i = 0; i < row.length; i++) {
    seen += row[i]!
    if (seen >= rank) return bucketMidMs(i)
  }
  return bucketMidMs(row.length - 1)
}

const round3 = (x: number) => Math.round(x * 1000) / 1000
