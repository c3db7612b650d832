/**
 * A DVR recording as a fragmented MP4 (src/format/fmp4-writer.ts): the sequence headers
 * make the tracks, each GOP a fragment; the durations in `moov` are patched at the end.
 * Metadata gives the picture size when the sequence header does not (HEVC, AV1); other
 * data messages have no place in the file.
 */
import { Fmp4Writer } from "../../format/fmp4-writer.js";
import { Amf0EcmaArray, decodeAmf0 } from "../../protocol/rtmp/amf0.js";
import type { SharedMessage } from "../../stream/shared-message.js";
import type { DvrEncoder, DvrFileStart, DvrPatch } from "./dvr-encoder.js";

export class DvrMp4Encoder implements DvrEncoder {
  private readonly mp4 = new Fmp4Writer();

  get pendingBytes(): number {
    return this.mp4.pendingBytes;
  }

  /** Frames the MP4 has no track for (a codec it cannot carry, or no sequence header). */
  get droppedFrames(): number {
    return this.mp4.droppedFrames;
  }

  begin(start: DvrFileStart): void {
    const size = start.metadata ? pictureSize(start.metadata.payload) : null;
    if (size) this.mp4.setVideoSize(size.width, size.height);
    if (start.videoHeader) this.mp4.writeVideo(start.timestamp, start.videoHeader.payload);
    if (start.audioHeader) this.mp4.writeAudio(start.timestamp, start.audioHeader.payload);
  }

  /** A track can be added until the moov is written (with the first fragment), never changed. */
  takesHeader(replacing: boolean): boolean {
    return !replacing && !this.mp4.initWritten;
  }

  write(msg: SharedMessage, timestamp: number): void {
    if (msg.isVideo) this.mp4.writeVideo(timestamp, msg.payload);
    else if (msg.isAudio) this.mp4.writeAudio(timestamp, msg.payload);
  }

  take(): Buffer[] {
    return this.mp4.take();
  }

  finish(): { parts: Buffer[]; patches: DvrPatch[] } {
    const { parts, patches } = this.mp4.finish();
    return { parts, patches };
  }
}

/** width and height of onMetaData, when it has them. */
function pictureSize(payload: Buffer): { width: number; height: number } | null {
  try {
    const values = decodeAmf0(payload);
    const obj = values[1];
    const entries = obj instanceof Amf0EcmaArray ? obj.entries : (obj as Record<string, unknown> | undefined);
    const width = entries?.["width"];
    const height = entries?.["height"];
    return typeof width === "number" && typeof height === "number" ? { width, height } : null;
  } catch {
    return null;
  }
}
