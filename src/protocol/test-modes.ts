// Test-only replica modes: a replica that is broken on purpose, so that `raftctl check` can show
// it catches the bug. Either a planted bug (a ReplicaMutant of server/replica.ts: reads without
// ReadIndex, acknowledging before fsync, ...) or Raft's liveness aids switched off (PreVote and
// CheckQuorum, on by default). What the launcher (cluster/processes.ts) tells a replica process it
// spawns: `--mutant NAME`; never for anything but tests. server/replica-main.ts checks at compile
// time that these name exactly the replica's mutants.
// Type-only import: commands that list the modes (start, check) must not load the Raft core.
import type {CoreMutant} from '../core/raft.js'

/** The replica driver's and state machine's own mutants (beside the core's). */
export type DriverMutant = 'read-without-readindex' | 'ack-before-fsync' | 'implicit-sessions'

/** A planted bug of the replica: what server/replica.ts calls a ReplicaMutant. */
export type ModeMutant = CoreMutant | DriverMutant

export type TestMode = ModeMutant | 'no-prevote-checkquorum'

/** What each mode does, for help texts and `raftctl check --mutant list` (every mode, typed). */
export const TEST_MODE_TEXT: Record<TestMode, string> = {
  'double-vote': 'a node may grant two votes in one term',
  'vote-without-log-check': 'votes are granted without the up-to-date log check',
  'commit-old-term': "a leader commits an earlier term's entry by counting replicas (Figure 8)",
  'no-truncate-conflict': "a follower keeps its entries that conflict with the leader's",
  'apply-past-commit': 'entries past the commit index may be applied while a snapshot is pending',
  'read-before-own-term-commit': 'a new leader serves ReadIndex before an entry of its own term commits',
  'conf-change-before-own-term-commit': 'a new leader proposes a configuration change before an entry of its own term commits',
  'campaign-with-unapplied-config': 'a node campaigns with a committed configuration change it has not applied',
  'no-commit-proof': 'a node does not take a configuration change followed by another in its log as committed',
  'ignore-outsider-votes': 'voters ignore vote requests from outside their applied configuration even when no leader is heard',
  'leader-counts-unsynced': 'a leader counts its own entries toward commitment before they are fsynced',
  'reapply-during-sync': 'entries a batch handed out for applying are applied again, early, while its fsync is in flight',
  'joint-new-majority-only': 'a joint configuration counts only the new majority',
  'learner-counts': 'learners count in majorities',
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
export function replicaSettings(mode: TestMode | undefined): {mutant?: ModeMutant; preVote: boolean; checkQuorum: boolean} {
  if (mode === 'no-prevote-checkquorum') return {preVote: false, checkQuorum: false}
  return {...(mode ? {mutant: mode} : {}), preVote: true, checkQuorum: true}
}
