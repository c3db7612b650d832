/**
 * Aggregate messages (RTMP spec 7.1.6): several FLV-tag-like sub-messages in one payload,
 * each with an 11-byte header and a 4-byte back pointer. Sub-message timestamps are made
 * relative to the first and added to the aggregate's own timestamp.
 */
import type { RawMessage } from "../../native/index.js";

export interface SubMessage {
  type: number;
  timestamp: number;
  payload: Buffer;
}

/** Splits an aggregate; a truncated tail is dropped (it cannot be framed). */
export function splitAggregate(msg: RawMessage): SubMessage[] {
  const out: SubMessage[] = [];
  const p = msg.payload;
  let pos = 0;
  let first = -1;
  while (pos + 11 <= p.length) {
    const type = p[pos]!;
    const size = p.readUIntBE(pos + 1, 3);
    // FLV-style timestamp: 24 low bits then 8 high bits.
    const ts = (p.readUIntBE(pos + 4, 3) | (p[pos + 7]! << 24)) >>> 0;
    const start = pos + 11;
    if (start + size > p.length) break;
    if (first < 0) first = ts;
    out.push({ type, timestamp: (msg.timestamp + (ts - first)) >>> 0, payload: p.subarray(start, start + size) });
    pos = start + size + 4;
  }
  return out;
}
