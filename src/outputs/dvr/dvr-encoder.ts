/**
 * What a DVR file format does with a stream's messages (FLV: dvr-flv-encoder.ts; MP4:
 * dvr-mp4-encoder.ts): bytes in file order, taken in batches, and at the end the last
 * bytes and the places to patch (durations and sizes known only then). No I/O here.
 */
import type { SharedMessage } from "../../stream/shared-message.js";

/** Where a file begins: what the stream had said so far, and the file's time of its first frame. */
export interface DvrFileStart {
  metadata: SharedMessage | null;
  videoHeader: SharedMessage | null;
  audioHeader: SharedMessage | null;
  /** The file's timestamp (after its time_jitter) of the first frame: the headers' time too. */
  timestamp: number;
}

export interface DvrPatch {
  /** Byte offset in the file. */
  offset: number;
  bytes: Buffer;
}

export interface DvrEncoder {
  /** Frames the format could not carry (counted in the recorder's skippedFrames). */
  readonly droppedFrames: number;
  /** Bytes made and not taken yet. */
  readonly pendingBytes: number;
  begin(start: DvrFileStart): void;
  /**
   * Whether a sequence header that is new to the open file can go into it; `replacing` when
   * the file has another one of that kind. When not (MP4 cannot change or add tracks once
   * its moov is out), the recorder starts a new file at the next random-access frame.
   */
  takesHeader(replacing: boolean): boolean;
  /** A frame, or a sequence header that changed mid-file, at the file's timestamp `timestamp`. */
  write(msg: SharedMessage, timestamp: number): void;
  /** The bytes made since the last call, in file order. */
  take(): Buffer[];
  /** Ends the file, `durationMs` long: the last bytes and the patches to apply after them. */
  finish(durationMs: number): { parts: Buffer[]; patches: DvrPatch[] };
}
