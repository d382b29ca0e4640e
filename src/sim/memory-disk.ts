// A simulated disk for one replica: what was synced survives a crash; of the writes after the
// last sync, a random prefix may survive (the disk wrote some of them), the rest is lost. A torn
// last record is detected by its checksum on a real disk and cut off, so it appears here as lost.
import type {Entry, HardState, Snapshot} from '../core/types.js'
import type {Prng} from '../lib/prng.js'
import type {LogStorage, PersistedState} from '../storage/port.js'

type Op =
  | {kind: 'append'; entries: Entry[]}
  | {kind: 'hardState'; hardState: HardState}
  | {kind: 'snapshot'; snapshot: Snapshot; discardLog: boolean}

interface DiskState {
  hardState: HardState
  snapshot: Snapshot | null
  entries: Entry[]
}

export class MemoryDisk {
  private durable: DiskState = {hardState: {currentTerm: 0, votedFor: 0, commitIndex: 0}, snapshot: null, entries: []}
  private pending: Op[] = []
  syncs = 0

  /** A storage handle for one incarnation of the replica. */
  open(): LogStorage {
    const disk = this
    return {
      load: (): PersistedState => {
        const s = disk.current()
        return {hardState: {...s.hardState}, snapshot: s.snapshot, entries: [...s.entries]}
      },
      append: (entries) => disk.pending.push({kind: 'append', entries: [...entries]}),
      setHardState: (hardState) => disk.pending.push({kind: 'hardState', hardState: {...hardState}}),
      saveSnapshot: (snapshot, discardLog) => disk.pending.push({kind: 'snapshot', snapshot, discardLog}),
      sync: () => {
        disk.durable = disk.current()
        disk.pending = []
        disk.syncs++
      },
      close: () => {},
    }
  }

  /** Power loss: unsynced writes are lost, except a random prefix of them. */
  crash(prng: Prng): void {
    const keep = prng.chance(0.5) ? prng.int(0, this.pending.length) : 0
    this.pending = this.pending.slice(0, keep)
    this.durable = this.current()
    this.pending = []
  }

  private current(): DiskState {
    const s: DiskState = {hardState: this.durable.hardState, snapshot: this.durable.snapshot, entries: this.durable.entries}
    let copied = false
    for (const op of this.pending) {
      if (!copied) {
        s.entries = [...s.entries]
        copied = true
      }
      switch (op.kind) {
        case 'append': {
          const first = op.entries[0]!.index
          const base = s.snapshot?.lastIncludedIndex ?? 0
          const startIdx = s.entries.length > 0 ? s.entries[0]!.index : base + 1
          s.entries.length = Math.max(0, Math.min(s.entries.length, first - startIdx))
          s.entries.push(...op.entries)
          break
        }
        case 'hardState':
          s.hardState = op.hardState
          break
        case 'snapshot': {
          s.snapshot = op.snapshot
          const cut = op.snapshot.lastIncludedIndex
          s.entries = op.discardLog ? [] : s.entries.filter((e) => e.index > cut)
          break
        }
      }
    }
    return s
  }
}
