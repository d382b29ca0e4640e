// The transport's public surface: framing, handshake, node server, peer transport, client
// connection, link filter and wire validation. See docs/transport.md for the protocol.

export {TransportError, isTransportError, type TransportErrorCode} from './errors.js'
export {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameError,
  decodeBody,
  encodeBody,
  encodeFrame,
  type DecodeResult,
  type FrameDecoderOptions,
  type FrameErrorReason,
} from './framing.js'
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  PRE_AUTH_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type ClientRole,
  type Secret,
} from './handshake.js'
export {dial, FramedSocket, type DialOptions, type Dialed} from './connection.js'
export {NodeServer, type NodeServerOptions, type NodeServerStats, type RequestContext} from './server.js'
export {PeerTransport, type PeerAddress, type PeerStats, type PeerTransportOptions, type PeerTransportStats} from './peers.js'
export {ClientConnection, DEFAULT_REQUEST_TIMEOUT_MS, type ClientConnectOptions} from './client.js'
export {LinkFilter, type LinkCut, type PartitionRules} from './link-filter.js'
export {entryProblem, isMessage, messageProblem, type MessageExpectation} from './validate.js'
