/**
 * FLV files (FLV spec E.2-E.4) as the client tools read and write them: `FlvParser` turns
 * bytes in any pieces into whole tags, `FlvFileReader` streams a file's tags (one read
 * buffer at a time, never the whole file), `FlvFileWriter` writes the header and tags to
 * a file or a pipe. Tag bodies are relayed untouched; flv.ts knows what is inside them.
 *
 * Errors carry the code ERR_FLV_FORMAT (not an FLV file, a tag too short to be one).
 */
import { SluiceError } from "../core/errors.js";
import { createReadStream } from "node:fs";
import type { Writable } from "node:stream";
import { encodeFlvTag, flvHeader } from "./flv.js";

/** FLV tag types (FLV spec E.4.1). */
export const FlvTagType = { Audio: 8, Video: 9, Script: 18 } as const;

export interface FlvTag {
  /** 8 audio, 9 video, 18 script data: the same numbers as RTMP's message types. */
  type: number;
  /** Milliseconds, 32 bits (the 24-bit field and its extension byte). */
  timestamp: number;
  body: Buffer;
}

export interface FlvFileHeader {
  version: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

/** Not an FLV file, a tag cut short, nothing to loop: a SluiceError with code ERR_FLV_FORMAT. */
export class FlvFormatError extends SluiceError {
  constructor(message: string) {
    super("ERR_FLV_FORMAT", message);
    this.name = "FlvFormatError";
  }
}

const TAG_HEADER = 11;
const PREVIOUS_TAG_SIZE = 4;

/**
 * Bytes in, tags out. The header is checked (signature "FLV"); PreviousTagSize fields are
 * skipped, not checked, since many writers get them wrong. Encrypted tags (the Filter bit)
 * and tag types other than audio, video and script data are skipped.
 */
export class FlvParser {
  header: FlvFileHeader | undefined;
  /** Tags skipped because of their type or the Filter bit. */
  skipped = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Where the first tag starts: DataOffset + PreviousTagSize0, once the header is in. */
  private bodyStart = 0;

  /** Bytes held back: the start of a tag not complete yet (a truncated file at the end). */
  get pendingBytes(): number {
    return this.buf.length;
  }

  push(data: Buffer): FlvTag[] {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    const tags: FlvTag[] = [];
    if (!this.header) {
      if (this.buf.length < 9) {
        if (this.buf.length >= 3 && this.buf.toString("latin1", 0, 3) !== "FLV") throw this.notFlv();
        return tags;
      }
      if (this.buf.toString("latin1", 0, 3) !== "FLV") throw this.notFlv();
      const dataOffset = this.buf.readUInt32BE(5);
      if (dataOffset < 9) throw new FlvFormatError(`FLV header says the data starts at byte ${dataOffset}, inside the 9-byte header`);
      const flags = this.buf[4]!;
      this.header = { version: this.buf[3]!, hasAudio: (flags & 0x04) !== 0, hasVideo: (flags & 0x01) !== 0 };
      this.bodyStart = dataOffset + PREVIOUS_TAG_SIZE;
    }
    if (this.bodyStart > 0) {
      if (this.buf.length < this.bodyStart) return tags;
      this.buf = this.buf.subarray(this.bodyStart);
      this.bodyStart = 0;
    }
    let pos = 0;
    while (pos + TAG_HEADER <= this.buf.length) {
      const b0 = this.buf[pos]!;
      const size = this.buf.readUIntBE(pos + 1, 3);
      const end = pos + TAG_HEADER + size + PREVIOUS_TAG_SIZE;
      if (end > this.buf.length) break;
      const type = b0 & 0x1f;
      const encrypted = (b0 & 0x20) !== 0;
      if (!encrypted && (type === FlvTagType.Audio || type === FlvTagType.Video || type === FlvTagType.Script)) {
        const timestamp = (this.buf[pos + 7]! * 0x1000000 + this.buf.readUIntBE(pos + 4, 3)) >>> 0;
        // A copy: the caller may keep a tag after the read buffer is reused.
        tags.push({ type, timestamp, body: Buffer.from(this.buf.subarray(pos + TAG_HEADER, pos + TAG_HEADER + size)) });
      } else {
        this.skipped++;
      }
      pos = end;
    }
    this.buf = pos === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(pos));
    return tags;
  }

  /**
   * The input is over: returns the last tag when only its PreviousTagSize is missing; any
   * other leftover is a truncated tag, dropped (see pendingBytes before calling).
   */
  end(): FlvTag[] {
    if (!this.header) throw this.notFlv();
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    if (b.length < TAG_HEADER) return [];
    // A whole tag whose PreviousTagSize is missing or cut: the tag itself is good.
    if (TAG_HEADER + b.readUIntBE(1, 3) > b.length) return [];
    const tags = this.push(Buffer.concat([b, Buffer.alloc(PREVIOUS_TAG_SIZE)]));
    this.buf = Buffer.alloc(0);
    return tags;
  }

  private notFlv(): FlvFormatError {
    const start = this.buf.subarray(0, 3);
    return new FlvFormatError(`not an FLV file: it starts with ${JSON.stringify(start.toString("latin1"))}, not "FLV"`);
  }
}

/**
 * A file's tags as an async iterable, read in 64 KiB pieces; iterating again reads the
 * file again (the publisher's --loop). After an iteration, `truncatedBytes` says how many
 * bytes at the end did not make a whole tag (a recording cut short).
 */
export class FlvFileReader implements AsyncIterable<FlvTag> {
  header: FlvFileHeader | undefined;
  truncatedBytes = 0;

  constructor(readonly path: string) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<FlvTag> {
    const parser = new FlvParser();
    const input = createReadStream(this.path, { highWaterMark: 64 * 1024 });
    try {
      for await (const chunk of input) {
        const tags = parser.push(chunk as Buffer);
        this.header = parser.header;
        yield* tags;
      }
      const held = parser.pendingBytes;
      const last = parser.end();
      this.truncatedBytes = last.length > 0 ? 0 : held;
      yield* last;
    } finally {
      input.destroy();
    }
  }
}

export interface FlvFileWriterOptions {
  /** End the stream when the writer ends (a file: yes; process.stdout: no). Default true. */
  closeOutput?: boolean;
}

/**
 * Writes an FLV header then tags to a Writable (a file stream, a pipe). Counts what it
 * wrote; `write` returns false when the output's buffer is full, as Writable.write does.
 */
export class FlvFileWriter {
  bytes = 0;
  tags = 0;
  private headerWritten = false;

  constructor(
    private readonly out: Writable,
    private readonly opts: FlvFileWriterOptions = {},
  ) {}

  /** The 13 bytes of header and PreviousTagSize0; written once, before the first tag. */
  writeHeader(hasAudio: boolean, hasVideo: boolean): boolean {
    if (this.headerWritten) return true;
    this.headerWritten = true;
    const h = flvHeader(hasAudio, hasVideo);
    this.bytes += h.length;
    return this.out.write(h);
  }

  /** One tag; the header (audio and video flags set) first if none was written. */
  writeTag(type: number, timestamp: number, body: Buffer): boolean {
    if (!this.headerWritten) this.writeHeader(true, true);
    const tag = encodeFlvTag(type, timestamp, body);
    this.bytes += tag.length;
    this.tags++;
    return this.out.write(tag);
  }

  /** Resolves when everything written has been flushed (and the output closed, if ours). */
  end(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.out.once("error", onError);
      const done = () => {
        this.out.off("error", onError);
        resolve();
      };
      if (this.opts.closeOutput === false) this.out.write(Buffer.alloc(0), () => done());
      else this.out.end(done);
    });
  }
}
