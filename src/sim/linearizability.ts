// The linearizability checker lives in src/linearizability/, a leaf that sim/ and check/ both
// import; this module keeps its old path for the importers that still use it.
export * from '../linearizability/index.js'
