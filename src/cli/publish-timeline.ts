/**
 * What sluice-publish sends of a file's tags, and when: `PublishTimeline` maps each tag's
 * timestamp onto one continuous stream across --loop passes (each pass goes on one frame
 * after the last tag sent) and drops what a live stream must not repeat (metadata, which is
 * sent once first, and sequence headers equal to the ones already sent); `RealTimePacer`
 * says how long to wait before a timestamp is due, the way `ffmpeg -re` paces its input:
 * media time since the first tag against wall-clock time since it was sent, so lateness
 * never accumulates.
 */
import { decodeAmf0Value } from "../protocol/rtmp/amf0.js";
import { isAudioSequenceHeader, isVideoSequenceHeader } from "../format/flv.js";
import { FlvTagType, type FlvTag } from "../format/flv-file.js";

/** The frame step assumed before two frames of a track have been seen (25 fps). */
const DEFAULT_STEP_MS = 40;

/** The first AMF0 string of a script tag: "onMetaData", "@setDataFrame", "onCuePoint"... */
export function scriptName(body: Buffer): string | undefined {
  try {
    const { value } = decodeAmf0Value(body, 0);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A script tag holding the stream's metadata, bare or already wrapped in @setDataFrame. */
export function isMetadataTag(tag: FlvTag): boolean {
  if (tag.type !== FlvTagType.Script) return false;
  const name = scriptName(tag.body);
  return name === "onMetaData" || name === "@setDataFrame";
}

export class PublishTimeline {
  /** Passes over the file started so far (1 during the first). */
  loops = 1;
  /** Added to (file timestamp - first timestamp of the pass). */
  private offset: number | undefined;
  private passStart: number | undefined;
  /** The largest timestamp sent. */
  private lastOut = -1;
  private lastVideo: number | undefined;
  private lastAudio: number | undefined;
  private videoStep = 0;
  private audioStep = 0;
  private videoHeader: Buffer | undefined;
  private audioHeader: Buffer | undefined;

  /**
   * The tag as it is to be sent, with its stream timestamp; undefined when it is not sent:
   * metadata (sent once, first, by the caller) and a sequence header equal to the last one
   * of its track.
   */
  next(tag: FlvTag): FlvTag | undefined {
    if (isMetadataTag(tag)) return undefined;
    if (this.passStart === undefined) {
      this.passStart = tag.timestamp;
      // The first pass keeps the file's own timestamps; later ones go on from the last sent.
      this.offset ??= tag.timestamp;
    }
    const timestamp = this.offset! + (tag.timestamp - this.passStart);
    if (tag.type === FlvTagType.Video && isVideoSequenceHeader(tag.body)) {
      if (this.videoHeader?.equals(tag.body)) return undefined;
      this.videoHeader = tag.body;
    } else if (tag.type === FlvTagType.Audio && isAudioSequenceHeader(tag.body)) {
      if (this.audioHeader?.equals(tag.body)) return undefined;
      this.audioHeader = tag.body;
    } else if (tag.type === FlvTagType.Video) {
      if (this.lastVideo !== undefined && timestamp > this.lastVideo) this.videoStep = timestamp - this.lastVideo;
      this.lastVideo = timestamp;
    } else if (tag.type === FlvTagType.Audio) {
      if (this.lastAudio !== undefined && timestamp > this.lastAudio) this.audioStep = timestamp - this.lastAudio;
      this.lastAudio = timestamp;
    }
    this.lastOut = Math.max(this.lastOut, timestamp);
    return { type: tag.type, timestamp, body: tag.body };
  }

  /**
   * The file starts over: its first tag will be sent one frame after the last tag sent
   * (the video frame step, else the audio one, else 40 ms), so timestamps only go up.
   */
  startLoop(): void {
    this.loops++;
    const step = this.videoStep || this.audioStep || DEFAULT_STEP_MS;
    this.offset = this.lastOut + step;
    this.passStart = undefined;
    // The step across the seam is not a frame step of the file.
    this.lastVideo = undefined;
    this.lastAudio = undefined;
  }
}

/** How long until a timestamp is due, against the wall clock since the first one was sent. */
export class RealTimePacer {
  private wallStart: number | undefined;
  private mediaStart = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The media time of the first timestamp asked about (undefined before). */
  get start(): number | undefined {
    return this.wallStart === undefined ? undefined : this.mediaStart;
  }

  /** Milliseconds to wait before sending a tag of this timestamp; 0 or less: send now. */
  dueIn(timestamp: number): number {
    const now = this.now();
    if (this.wallStart === undefined) {
      this.wallStart = now;
      this.mediaStart = timestamp;
    }
    return this.wallStart + (timestamp - this.mediaStart) - now;
  }
}
