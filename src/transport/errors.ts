// Typed errors at the transport's edge. Everything a caller of ClientConnection, dial() or
// NodeServer.listen() can see fails with a TransportError whose `code` says what kind of failure it
// was, so the CLI can map it to an exit code and a hint without parsing messages.

export type TransportErrorCode =
  /** TCP connect failed (refused, unreachable, no such host). `cause` holds the system error. */
  | 'connect'
  /** The other side is not of our cluster or does not hold the secret (either direction). */
  | 'auth'
  /** Connect, handshake or request did not finish within its time limit. */
  | 'timeout'
  /** The connection closed (locally or by the other side) before the answer arrived. */
  | 'closed'
  /** The other side sent something that breaks the wire protocol. */
  | 'protocol'
  /** The server's request handler failed; `remoteCode` carries its code. */
  | 'remote'
  /** A frame would exceed the frame size limit. */
  | 'too-large'
  /** The server cannot listen on its address (port in use, permission, bad host). */
  | 'listen'

export class TransportError extends Error {
  override name = 'TransportError'
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: {cause?: unknown; remoteCode?: string},
  ) {
    super(message, options?.cause === undefined ? undefined : {cause: options.cause})
    if (options?.remoteCode !== undefined) this.remoteCode = options.remoteCode
  }
  /** For code 'remote': the error code the server's handler reported. */
  remoteCode?: string
}

export const isTransportError = (e: unknown, code?: TransportErrorCode): e is TransportError =>
  e instanceof TransportError && (code === undefined || e.code === code)
