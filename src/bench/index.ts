// The benchmark toolkit of `raftctl bench` (the closed loop, recorder, percentiles, progress), for
// the scripts under bench/ and the tests.
export * from './loop.js'
export * from './progress.js'
export * from './stats.js'
