// The benchmark toolkit, for `raftctl bench` and bench/etcd-client.ts (which measures etcd with the
// very same loop, recorder, percentiles and progress code).
export * from './loop.js'
export * from './progress.js'
export * from './stats.js'
