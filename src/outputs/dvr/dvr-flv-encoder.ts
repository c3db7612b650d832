/**
 * A DVR recording as an FLV file (FLV spec E.2-E.4), as SRS's SrsDvrFlvSegmenter writes it:
 * the header, onMetaData with `duration` and `filesize` (0 until the file ends, then
 * patched in place), the sequence headers, then every frame with the file's own timestamps.
 * The tag bodies are the publisher's Buffers, not copied: a frame costs a 15-byte header.
 */
import { FLV_MAX_TAG_BODY, flvHeader } from "../../format/flv.js";
import { Amf0EcmaArray, createAmf0Object, decodeAmf0, encodeAmf0, type Amf0Object } from "../../protocol/rtmp/amf0.js";
import { MessageType } from "../../protocol/rtmp/message-types.js";
import type { SharedMessage } from "../../stream/shared-message.js";
import type { DvrEncoder, DvrFileStart, DvrPatch } from "./dvr-encoder.js";

const TAG_HEADER = 11;
const HEADER_SIZE = 13;
/** FLV header byte 4 (TypeFlags): audio 0x04, video 0x01. */
const FLAGS_OFFSET = 4;

export class DvrFlvEncoder implements DvrEncoder {
  /** Tag bodies FLV cannot carry (over 16 MiB). */
  droppedFrames = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Bytes of the file so far, taken or not. */
  private size = 0;
  private hasAudio = false;
  private hasVideo = false;
  private durationAt = -1;
  private filesizeAt = -1;

  get pendingBytes(): number {
    return this.partsBytes;
  }

  begin(start: DvrFileStart): void {
    this.hasVideo = start.videoHeader !== null;
    this.hasAudio = start.audioHeader !== null;
    this.push(flvHeader(this.hasAudio, this.hasVideo));
    const meta = metadataWithDuration(start.metadata?.payload ?? null);
    const bodyAt = this.size + TAG_HEADER;
    this.tag(MessageType.DataAmf0, start.timestamp, meta.body);
    this.durationAt = bodyAt + meta.durationAt;
    this.filesizeAt = bodyAt + meta.filesizeAt;
    if (start.videoHeader) this.tag(MessageType.Video, start.timestamp, start.videoHeader.payload);
    if (start.audioHeader) this.tag(MessageType.Audio, start.timestamp, start.audioHeader.payload);
  }

  /** FLV carries a new sequence header where it comes, as the live stream does. */
  takesHeader(): boolean {
    return true;
  }

  write(msg: SharedMessage, timestamp: number): void {
    if (msg.isVideo) this.hasVideo = true;
    else if (msg.isAudio) this.hasAudio = true;
    this.tag(msg.type, timestamp, msg.payload);
  }

  take(): Buffer[] {
    const parts = this.parts;
    this.parts = [];
    this.partsBytes = 0;
    return parts;
  }

  finish(durationMs: number): { parts: Buffer[]; patches: DvrPatch[] } {
    const patches: DvrPatch[] = [{ offset: FLAGS_OFFSET, bytes: Buffer.from([(this.hasAudio ? 0x04 : 0) | (this.hasVideo ? 0x01 : 0)]) }];
    if (this.durationAt >= 0) patches.push({ offset: this.durationAt, bytes: double(durationMs / 1000) });
    if (this.filesizeAt >= 0) patches.push({ offset: this.filesizeAt, bytes: double(this.size) });
    return { parts: this.take(), patches };
  }

  private tag(type: number, timestamp: number, body: Buffer): void {
    if (body.length > FLV_MAX_TAG_BODY) {
      this.droppedFrames++;
      return;
    }
    // Header and PreviousTagSize in one small allocation (from Node's pool).
    const h = Buffer.allocUnsafe(TAG_HEADER + 4);
    const ts = timestamp % 0x100000000;
    h[0] = type;
    h.writeUIntBE(body.length, 1, 3);
    h.writeUIntBE(ts & 0xffffff, 4, 3);
    h[7] = (ts >>> 24) & 0xff;
    h.writeUIntBE(0, 8, 3);
    h.writeUInt32BE(TAG_HEADER + body.length, TAG_HEADER);
    this.push(h.subarray(0, TAG_HEADER));
    if (body.length > 0) this.push(body);
    this.push(h.subarray(TAG_HEADER));
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.partsBytes += b.length;
    this.size += b.length;
  }
}

function double(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b;
}

/**
 * The publisher's onMetaData (or an empty one) with its own `duration` and `filesize`
 * dropped and both written last as 0, and where their 8-byte values are in the body.
 */
export function metadataWithDuration(payload: Buffer | null): { body: Buffer; durationAt: number; filesizeAt: number } {
  const entries = createAmf0Object();
  if (payload !== null) {
    try {
      const values = decodeAmf0(payload);
      const obj = values[0] === "onMetaData" ? values[1] : undefined;
      const src: Amf0Object | undefined = obj instanceof Amf0EcmaArray ? obj.entries : obj !== null && typeof obj === "object" && !Array.isArray(obj) ? (obj as Amf0Object) : undefined;
      if (src) for (const [k, v] of Object.entries(src)) if (k !== "duration" && k !== "filesize") entries[k] = v;
    } catch {
      // A metadata message the Source accepted decodes; if not, the file gets a bare one.
    }
  }
  entries["filesize"] = 0;
  entries["duration"] = 0;
  const body = encodeAmf0("onMetaData", new Amf0EcmaArray(entries));
  // Each is [u16 length 8][name][0x00 number marker][8-byte double], the last two properties.
  const at = (name: string): number => body.lastIndexOf(Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name, "latin1"), Buffer.from([0])])) + 3 + name.length;
  return { body, durationAt: at("duration"), filesizeAt: at("filesize") };
}
