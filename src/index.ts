/**
 * The package's public API (`import { RtmpClient } from "sluice"`): the RTMP client
 * session, the URL parser, the bandwidth check's client side (docs/bandcheck.md), FLV file reading and writing, and the error type they throw.
 * Importing it loads the native addon (the chunk codec and the handshake) and nothing of
 * the server: no listeners, no config, no logger, no signal handlers. See docs/client.md.
 */
export { RtmpClient, parseRtmpUrl } from "./protocol/rtmp/client-session.js";
export type { RtmpClientEvents, RtmpClientOptions, RtmpUrl } from "./protocol/rtmp/client-session.js";
export { runBandcheck } from "./protocol/rtmp/bandcheck-client.js";
export type { BandcheckReport } from "./protocol/rtmp/bandcheck-client.js";
export type { RawMessage } from "./native/index.js";
export { MessageType } from "./protocol/rtmp/message-types.js";
export type { Amf0Object, Amf0Value } from "./protocol/rtmp/amf0.js";
export { Amf0EcmaArray } from "./protocol/rtmp/amf0.js";
export { FlvFileReader, FlvFileWriter, FlvFormatError, FlvParser, FlvTagType } from "./format/flv-file.js";
export type { FlvFileHeader, FlvFileWriterOptions, FlvTag } from "./format/flv-file.js";
export { SluiceError, errorCode } from "./core/errors.js";
export type { ErrorCode } from "./core/errors.js";
