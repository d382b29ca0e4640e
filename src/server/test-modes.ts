// Test-only replica modes: a replica that is broken on purpose, so that `raftctl check` can show
// it catches the bug. Either a planted bug (a ReplicaMutant of replica.ts: reads without ReadIndex,
// acknowledging before fsync, ...) or Raft's liveness aids switched off (PreVote and CheckQuorum,
// on by default). Spawned replicas get `--mutant NAME`; never for anything but tests.
// Type-only import: commands that list the modes (start, check) must not load the Raft core.
import type {ReplicaMutant} from './replica.js'

export type TestMode = ReplicaMutant | 'no-prevote-checkquorum'

/** What each mode does, for help texts and `raftctl check --mutant list` (every mode, typed). */
export const TEST_MODE_TEXT: Record<TestMode, string> = {
  'double-vote': 'a node may grant two votes in one term',
  'vote-without-log-check': 'votes are granted without the up-to-date log check',
  'commit-old-term': "a leader commits an earlier term's entry by counting replicas (Figure 8)",
  'no-truncate-conflict': 'a follower keeps its entries that conflict with the leader\'s',
  'apply-past-commit': 'entries past the commit index may be applied while a snapshot is pending',
  'read-before-own-term-commit': 'a new leader serves ReadIndex before an entry of its own term commits',
  'read-without-readindex': 'a leader answers reads from its own state at once, without ReadIndex',
  'ack-before-fsync': 'a replica acknowledges writes and appends before they are fsynced (it fsyncs every 20th batch)',
  'implicit-sessions': "a client's first write starts its session (no registration through the log)",
  'no-prevote-checkquorum': 'PreVote and CheckQuorum are off',
}

export const TEST_MODES = Object.keys(TEST_MODE_TEXT) as readonly TestMode[]

export function isTestMode(x: string): x is TestMode {
  return (TEST_MODES as readonly string[]).includes(x)
}

/** The replica settings of a mode: which ReplicaMutant, and whether PreVote/CheckQuorum stay on. */
export function replicaSettings(mode: TestMode | undefined): {mutant?: ReplicaMutant; preVote: boolean; checkQuorum: boolean} {
  if (mode === 'no-prevote-checkquorum') return {preVote: false, checkQuorum: false}
  return {...(mode ? {mutant: mode} : {}), preVote: true, checkQuorum: true}
}
