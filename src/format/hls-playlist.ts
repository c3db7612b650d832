/**
 * HLS media playlists (RFC 8216) and SRS's file-name templates.
 *
 * A live playlist lists a sliding window of segments: EXT-X-MEDIA-SEQUENCE is the first
 * listed segment's number and EXT-X-DISCONTINUITY-SEQUENCE counts the discontinuities that
 * left the window (RFC 8216 4.3.3.3), so a player can line up what it already has.
 * EXT-X-PROGRAM-DATE-TIME on every segment ties media time to wall-clock time (4.3.2.6).
 */

export interface PlaylistSegment {
  /** The URI as written in the playlist (relative to the playlist, or with hls_entry_prefix). */
  uri: string;
  /** Seconds. */
  duration: number;
  /** A publisher returned or the codecs changed before this segment. */
  discontinuity: boolean;
  /** Wall-clock time of the segment's first frame. */
  programDateTime: Date;
}

export interface MediaPlaylist {
  mediaSequence: number;
  discontinuitySequence: number;
  /** Seconds; at least every segment's duration rounded to the nearest integer (4.3.3.1). */
  targetDuration: number;
  segments: readonly PlaylistSegment[];
  /** Adds EXT-X-ENDLIST: the stream is over for good. */
  ended?: boolean;
}

/** EXT-X-TARGETDURATION for these segments: never below `floor` (seconds, an integer). */
export function targetDurationOf(segments: readonly PlaylistSegment[], floor: number): number {
  let target = Math.max(1, Math.ceil(floor));
  for (const s of segments) target = Math.max(target, Math.ceil(s.duration));
  return target;
}

export function renderPlaylist(p: MediaPlaylist): string {
  const lines = [
    "#EXTM3U",
    // Version 3: decimal EXTINF durations (RFC 8216 7).
    "#EXT-X-VERSION:3",
    `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`,
    `#EXT-X-TARGETDURATION:${p.targetDuration}`,
  ];
  if (p.discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  for (const s of p.segments) {
    if (s.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${s.programDateTime.toISOString()}`);
    lines.push(`#EXTINF:${s.duration.toFixed(3)},`);
    lines.push(s.uri);
  }
  if (p.ended) lines.push("#EXT-X-ENDLIST");
  return `${lines.join("\n")}\n`;
}

export interface TemplateValues {
  vhost: string;
  app: string;
  stream: string;
  /** The segment's sequence number. */
  seq?: number;
  /** The segment's duration in ms (known once it is cut). */
  durationMs?: number;
  /** When the segment (or playlist) started. */
  time: Date;
}

const two = (n: number): string => String(n).padStart(2, "0");

/**
 * Fills an SRS path template: [vhost] [app] [stream] [seq] [duration] (ms) [timestamp]
 * (ms since the epoch) and Go-style date parts in local time, as SRS: [2006] year, [01]
 * month, [02] day, [15] hour, [04] minute, [05] second, [999] millisecond.
 */
export function fillTemplate(template: string, v: TemplateValues): string {
  const t = v.time;
  const values: Record<string, string> = {
    vhost: v.vhost,
    app: v.app,
    stream: v.stream,
    seq: String(v.seq ?? 0),
    duration: String(Math.round(v.durationMs ?? 0)),
    timestamp: String(t.getTime()),
    "2006": String(t.getFullYear()),
    "01": two(t.getMonth() + 1),
    "02": two(t.getDate()),
    "15": two(t.getHours()),
    "04": two(t.getMinutes()),
    "05": two(t.getSeconds()),
    "999": String(t.getMilliseconds()).padStart(3, "0"),
  };
  return template.replace(/\[([a-z0-9]+)\]/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * The URI of a segment as a playlist at `m3u8Path` refers to it (both relative to
 * hls_path): relative to the playlist's directory, or, with hls_entry_prefix, that prefix
 * and a slash before the same relative path (as SRS writes it).
 */
export function segmentUri(m3u8Path: string, tsPath: string, entryPrefix: string): string {
  const slash = m3u8Path.lastIndexOf("/");
  const dir = slash < 0 ? "" : m3u8Path.slice(0, slash + 1);
  const rel = dir !== "" && tsPath.startsWith(dir) ? tsPath.slice(dir.length) : relativeUp(dir, tsPath);
  if (entryPrefix === "") return rel;
  return entryPrefix.endsWith("/") ? `${entryPrefix}${rel}` : `${entryPrefix}/${rel}`;
}

/** `to` relative to directory `dir` (both relative, "/"-separated), going up with "..". */
function relativeUp(dir: string, to: string): string {
  const from = dir.split("/").filter((p) => p !== "");
  const parts = to.split("/");
  let common = 0;
  while (common < from.length && common < parts.length - 1 && from[common] === parts[common]) common++;
  return [...from.slice(common).map(() => ".."), ...parts.slice(common)].join("/");
}
