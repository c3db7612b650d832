/**
 * Builders of the small protocol control and user control messages (RTMP spec 5.4, 7.1.7),
 * already chunked: all fit in one chunk of the minimum size, so the chunk size in force
 * does not matter for them.
 */
import { encodeChunks } from "../../native/index.js";
import { ChunkStreamId, MessageType, UserControlEvent } from "./message-types.js";

function control(type: number, payload: Buffer): Buffer {
  return encodeChunks(ChunkStreamId.Control, type, 0, 0, payload, 128);
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

export function setChunkSize(size: number): Buffer {
  return control(MessageType.SetChunkSize, u32(size & 0x7fffffff));
}

export function windowAckSize(size: number): Buffer {
  return control(MessageType.WindowAckSize, u32(size));
}

export function acknowledgement(bytesReceived: number): Buffer {
  // The sequence number is the byte count modulo 2^32 (5.4.3).
  return control(MessageType.Acknowledgement, u32(bytesReceived % 0x100000000));
}

export function setPeerBandwidth(size: number, limitType: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(size >>> 0, 0);
  b.writeUInt8(limitType, 4);
  return control(MessageType.SetPeerBandwidth, b);
}

export function userControl(event: number, value: number, extra?: number): Buffer {
  const b = Buffer.allocUnsafe(extra === undefined ? 6 : 10);
  b.writeUInt16BE(event, 0);
  b.writeUInt32BE(value >>> 0, 2);
  if (extra !== undefined) b.writeUInt32BE(extra >>> 0, 6);
  return control(MessageType.UserControl, b);
}

export const streamBegin = (streamId: number): Buffer => userControl(UserControlEvent.StreamBegin, streamId);
export const streamEof = (streamId: number): Buffer => userControl(UserControlEvent.StreamEof, streamId);
export const streamIsRecorded = (streamId: number): Buffer => userControl(UserControlEvent.StreamIsRecorded, streamId);
export const pingRequest = (timestamp: number): Buffer => userControl(UserControlEvent.PingRequest, timestamp);
export const pingResponse = (timestamp: number): Buffer => userControl(UserControlEvent.PingResponse, timestamp);
