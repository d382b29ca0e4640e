// The storage port the replica driver persists through. Two implementations exist: the segment
// files of src/storage (over a file-system port: real files, or the simulator's crashable disk)
// and any test double. Contract: nothing written is durable until sync() returns; after a crash,
// load() returns a prefix-consistent state (every synced write, possibly some later ones, never a
// torn record).
import type {Entry, HardState, Snapshot} from '../core/types.js'
import type {EncodedSnapshot} from './snapshot-encoder.js'

export interface PersistedState {
  hardState: HardState
  /** The latest snapshot, or null. */
  snapshot: Snapshot | null
  /** Entries after the snapshot (or from index 1), contiguous, in order. */
  entries: Entry[]
}

export interface LogStorage {
  /** Reads everything back (repairing a torn tail). Called once, before any other method. */
  load(): PersistedState
  /** Removes every stored entry with index >= entries[0].index, then appends `entries`. */
  append(entries: Entry[]): void
  /** `durableCommit`: persist this commitIndex with the next sync (it passed a configuration change). */
  setHardState(hardState: HardState, durableCommit?: boolean): void
  /**
   * Stores a snapshot. Entries with index <= snapshot.lastIncludedIndex are no longer needed and
   * may be deleted; `discardLog` (a snapshot received from the leader that replaces the log) drops
   * every stored entry. `encoded`, when given, is that snapshot's record already encoded (by
   * SnapshotEncoder, in steps); the storage writes it instead of encoding the snapshot itself.
   */
  saveSnapshot(snapshot: Snapshot, discardLog: boolean, encoded?: EncodedSnapshot): void
  /** Makes every write so far durable (fsync). One call per Ready batch: group commit. */
  sync(): void
  /**
   * Like sync(), off the event loop where the storage can: false if it completed at once (`done`
   * is not called); true if `done` will be called once every write so far is durable. No other
   * call until then.
   */
  syncAsync?(done: (err: Error | null) => void): boolean
  close(): void
}
