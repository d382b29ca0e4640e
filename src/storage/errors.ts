// Typed storage errors. Corruption is never repaired silently: only a torn tail of the last
// segment is cut (and logged); anything else surfaces here, naming the file and the byte offset.

export class StorageCorruptionError extends Error {
  override name = 'StorageCorruptionError'
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`storage corruption in ${file} at offset ${offset}: ${reason}`)
  }
}

/**
 * The data directory is not this node's: empty (its disk was lost or wiped), of another cluster,
 * or of another node. Such a node must not vote or count toward a quorum as if it held the log
 * it once acknowledged, so it does not start.
 */
export class StorageIdentityError extends Error {
  override name = 'StorageIdentityError'
  constructor(
    readonly dir: string,
    readonly reason: 'missing' | 'foreign' | 'other-node',
    message: string,
  ) {
    super(message)
  }
}
