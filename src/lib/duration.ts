// Durations on the command line: "500ms", "5s", "1.5s", "2m", "1h"; "0" alone means zero.
// A bare number is refused rather than guessed at (seconds? milliseconds?).

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

export function parseDuration(text: string): {ok: true; ms: number} | {ok: false; problem: string} {
  const t = text.trim()
  if (t === '0') return {ok: true, ms: 0}
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(t)
  if (!m) {
    return /^\d+(\.\d+)?$/.test(t)
      ? {ok: false, problem: `duration ${JSON.stringify(text)} needs a unit, e.g. ${unitSuggestion(Number(t))}`}
      : {ok: false, problem: `malformed duration ${JSON.stringify(text)} (use e.g. 500ms, 5s, 2m)`}
  }
  const ms = Math.round(Number(m[1]) * UNITS[m[2]!]!)
  if (!Number.isSafeInteger(ms)) return {ok: false, problem: `duration ${JSON.stringify(text)} is too large`}
  return {ok: true, ms}
}

/** What a bare number most likely meant: big ones are milliseconds (5000 → 5000ms or 5s), small ones seconds. */
function unitSuggestion(n: number): string {
  if (n >= 100) return Number.isInteger(n / 1000) ? `${n}ms or ${n / 1000}s` : `${n}ms`
  return `${n}s or ${n}ms`
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
}
