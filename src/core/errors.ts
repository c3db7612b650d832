/**
 * Coded errors. Every failure that reaches a log line or a caller carries a stable `code`
 * (listed in docs/errors.md) that callers and tests switch on; the message names the peer
 * or the file:line it concerns, and `cause` keeps the chain (as SRS's srs_error_wrap does).
 */
export type ErrorCode =
  // configuration
  | "ERR_CONF_SYNTAX"
  | "ERR_CONF_UNKNOWN_DIRECTIVE"
  | "ERR_CONF_VALUE"
  | "ERR_CONF_INCLUDE"
  // RTMP handshake and chunk stream
  | "ERR_RTMP_HANDSHAKE_VERSION"
  | "ERR_RTMP_HANDSHAKE_TIMEOUT"
  | "ERR_RTMP_HANDSHAKE"
  | "ERR_RTMP_CHUNK_SIZE"
  | "ERR_RTMP_MESSAGE_TOO_LARGE"
  | "ERR_RTMP_CHUNK_STREAM"
  | "ERR_RTMP_CHUNK_LIMIT"
  // AMF0
  | "ERR_AMF0_TRUNCATED"
  | "ERR_AMF0_TYPE"
  | "ERR_AMF0_DEPTH"
  | "ERR_AMF0_REFERENCE"
  // RTMP session
  | "ERR_RTMP_COMMAND"
  | "ERR_RTMP_STATE"
  | "ERR_RTMP_STREAM_ID"
  | "ERR_RTMP_TIMEOUT"
  | "ERR_RTMP_PEER_CLOSED"
  | "ERR_RTMP_SLOW_PLAYER"
  // MPEG-TS muxer
  | "ERR_TS_INPUT"
  | "ERR_FLV_FORMAT"
  | "ERR_HLS_PATH"
  // server
  | "ERR_SERVER_LISTEN"
  | "ERR_SERVER_PID"
  | "ERR_NATIVE";

export class SluiceError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "SluiceError";
  }

  /** Adds context in front of an error, keeping its code when it has one. */
  static wrap(err: unknown, context: string, fallback: ErrorCode = "ERR_NATIVE"): SluiceError {
    const code = errorCode(err) ?? fallback;
    const msg = err instanceof Error ? err.message : String(err);
    return new SluiceError(code, `${context}: ${msg}`, { cause: err });
  }
}

/** The `code` of an error thrown by our code or by the addon, if it has one. */
export function errorCode(err: unknown): ErrorCode | undefined {
  if (err && typeof err === "object" && "code" in err) {
    const c = (err as { code: unknown }).code;
    if (typeof c === "string" && c.startsWith("ERR_")) return c as ErrorCode;
  }
  return undefined;
}
