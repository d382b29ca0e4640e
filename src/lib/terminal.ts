// The one rule for plain output: NO_COLOR (non-empty) or CI (set, and not "0" or "false") means no
// colour and no animation (no bars or counters rewritten in place), as most CLIs read them.

/** CI is set to something that means yes (`CI=0` and `CI=false` mean no). */
export function ciSet(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}

/** Colour and escape-code animation are off: NO_COLOR or CI. */
export function plainOutput(env: NodeJS.ProcessEnv): boolean {
  return (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || ciSet(env)
}

/** Redrawing in place is allowed: the stream is a terminal and output is not plain. */
export function animationEnabled(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && !plainOutput(env)
}
