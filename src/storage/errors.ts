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
