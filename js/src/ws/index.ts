/**
 * auracodec over WebSockets, for browsers and Node (Python:
 * `auracodec.websocket`): `connect(url, { pipeline, mode })` gives an
 * {@link AuraConnection}; see `connection.ts` for the handshake, the close
 * codes and the differences from Python (no worker threads; browsers' close
 * codes). Node needs the `ws` package; browsers use their `WebSocket`.
 */

export {
  CLOSE_BUDGET,
  CLOSE_INVALID,
  CLOSE_TOO_BIG,
  CLOSE_UNSUPPORTED,
  ConnectionClosed,
  DecodeBudget,
  DecodeBudgetExceeded,
  HandshakeError,
  MODES,
  PROTOCOL,
  subprotocol,
} from "./protocol.js";
export type { Mode } from "./protocol.js";
export { AuraConnection, connect } from "./connection.js";
export type { ConnectOptions, ConnectionOptions, Observer, Offer, SessionLike, WebSocketConstructor, WebSocketLike } from "./connection.js";
