// The identity of a data directory: which cluster and which node it belongs to, written when the
// node is created (`raftctl init`, `raftctl member add`) and checked by every start. A node whose
// directory is empty has lost the log and the votes it acknowledged: if it started as if new it
// could vote for a candidate without an entry it had helped commit, or vote twice in a term, and
// an acknowledged write could be lost for good (issue #18). One record (see record.ts) in a file
// named `identity`, written through the same atomic temp-fsync-rename as the hard state.
import {Packr, Unpackr} from 'msgpackr'
import type {NodeId} from '../core/types.js'
import {StorageIdentityError} from './errors.js'
import {type FileSystem, joinPath} from './fs.js'
import {checkFrame, encodeRecord} from './record.js'

export const IDENTITY_FILE = 'identity'

export interface DataDirIdentity {
  clusterId: string
  nodeId: NodeId
}

const packr = new Packr({useRecords: false})
const unpackr = new Unpackr({useRecords: false, mapsAsObjects: true})

/** Writes the identity file durably (creating the directory). */
export function writeIdentity(fs: FileSystem, dir: string, id: DataDirIdentity): void {
  fs.mkdirp(dir)
  const tmp = joinPath(dir, `${IDENTITY_FILE}.tmp`)
  const fd = fs.create(tmp)
  try {
    fs.append(fd, encodeRecord(packr.pack({clusterId: id.clusterId, nodeId: id.nodeId})))
    fs.fsync(fd)
  } finally {
    fs.close(fd)
  }
  fs.rename(tmp, joinPath(dir, IDENTITY_FILE))
  fs.fsyncDir(dir)
}

/** Reads the identity file; null if there is none or it cannot be read. */
export function readIdentity(fs: FileSystem, dir: string): DataDirIdentity | null {
  const path = joinPath(dir, IDENTITY_FILE)
  if (!fs.exists(path)) return null
  const buf = fs.readFile(path)
  const frame = checkFrame(buf, 0, true)
  if (!frame.ok || frame.end !== buf.length) return null
  try {
    const v = unpackr.unpack(buf.subarray(frame.payloadStart, frame.end)) as Partial<DataDirIdentity>
    if (typeof v?.clusterId === 'string' && Number.isSafeInteger(v.nodeId)) return {clusterId: v.clusterId, nodeId: v.nodeId!}
  } catch {
    // fall through
  }
  return null
}

/**
 * Checks that `dir` (already listed as `names`) is this node's. A directory written before
 * identities existed (Raft state, no identity file) is adopted: `adopt` is told, and the identity
 * written. Throws StorageIdentityError otherwise.
 */
export function checkIdentity(fs: FileSystem, dir: string, names: readonly string[], expected: DataDirIdentity, adopt: (line: string) => void): void {
  const found = readIdentity(fs, dir)
  if (found === null) {
    const hasState = names.some((n) => n === 'hardstate' || n.endsWith('.seg') || n.endsWith('.snap'))
    if (hasState && !names.includes(IDENTITY_FILE)) {
      adopt(`data directory ${dir} predates identities: it is now node ${expected.nodeId} of cluster ${expected.clusterId}`)
      writeIdentity(fs, dir, expected)
      return
    }
    throw new StorageIdentityError(
      dir,
      'missing',
      names.includes(IDENTITY_FILE)
        ? `the identity file in ${dir} is damaged: the directory cannot be trusted as node ${expected.nodeId}'s`
        : `${dir} holds no data of node ${expected.nodeId}: its disk was lost or wiped, and a node that lost its log must not vote or count toward a quorum`,
    )
  }
  if (found.clusterId !== expected.clusterId) {
    throw new StorageIdentityError(dir, 'foreign', `${dir} belongs to another cluster (${found.clusterId}, not ${expected.clusterId})`)
  }
  if (found.nodeId !== expected.nodeId) {
    throw new StorageIdentityError(dir, 'other-node', `${dir} holds the data of node ${found.nodeId}, not of node ${expected.nodeId}`)
  }
}
