/**
 * SRS 1's RTMP bandwidth check (`vhost { bandcheck { enabled; key; interval; limit_kbps; } }`,
 * SRS's SrsBandwidth): a client connects to a vhost with bandcheck on, giving `key=KEY` in
 * its tcUrl; instead of playing or publishing, it and the server measure the link both ways
 * with AMF0 calls, then the server reports and closes:
 *
 *   server -> onSrsBandCheckStartPlayBytes {limit_kbps, duration_ms, interval_ms}
 *   client -> onSrsBandCheckStartingPlayBytes
 *   server -> onSrsBandCheckPlaying {...} x N for duration_ms, at most limit_kbps
 *   server -> onSrsBandCheckStopPlayBytes {duration_ms, interval_ms, duration_delta, bytes_delta}
 *   client -> onSrsBandCheckStoppedPlayBytes
 *   server -> onSrsBandCheckStartPublishBytes {limit_kbps, duration_ms, interval_ms}
 *   client -> onSrsBandCheckStartingPublishBytes, then onSrsBandCheckPublishing {...} x N,
 *             and (a client that is not Flash) onSrsBandCheckStopPublishBytes when done
 *   server -> onSrsBandCheckStopPublishBytes {duration_ms, interval_ms, duration_delta, bytes_delta}
 *   client -> onSrsBandCheckStoppedPublishBytes (not waited for from Flash: it has a swfUrl)
 *   server -> onSrsBandCheckFinished {start_time, end_time, play_kbps, publish_kbps,
 *             play_bytes, publish_bytes, play_time, publish_time}
 *   client -> finalClientPacket (not from Flash), then the server closes.
 *
 * Every call is a command on stream 0: name, transaction id 0, null, an object. A wrong key
 * refuses the connect; a check within `interval` seconds of the vhost's last one is refused
 * with "bandcheck rejected", as SRS. A step that gets no answer in time ends the check.
 * docs/bandcheck.md.
 */
import type { BandcheckConfig } from "../conf/config.js";
import { SluiceError } from "../core/errors.js";
import { log } from "../core/logger.js";
import type { Amf0Value } from "../protocol/rtmp/amf0.js";
import type { RtmpServerSession } from "../protocol/rtmp/server-session.js";

/** SRS's sample duration for each direction. */
export const BANDCHECK_DURATION_MS = 3000;
/** A step that waits longer than this for the client ends the check. */
const ANSWER_TIMEOUT_MS = 2 * BANDCHECK_DURATION_MS;
/** SRS's text in each playing packet's values. */
const PLAY_DATA = "SRS band check data from server's playing......";
/** Bytes Node may hold unsent for the socket before the play phase waits. */
const SOCKET_BYTES = 256 * 1024;

export const BandCheckCall = {
  StartPlay: "onSrsBandCheckStartPlayBytes",
  StartingPlay: "onSrsBandCheckStartingPlayBytes",
  Playing: "onSrsBandCheckPlaying",
  StopPlay: "onSrsBandCheckStopPlayBytes",
  StoppedPlay: "onSrsBandCheckStoppedPlayBytes",
  StartPublish: "onSrsBandCheckStartPublishBytes",
  StartingPublish: "onSrsBandCheckStartingPublishBytes",
  Publishing: "onSrsBandCheckPublishing",
  StopPublish: "onSrsBandCheckStopPublishBytes",
  StoppedPublish: "onSrsBandCheckStoppedPublishBytes",
  Finished: "onSrsBandCheckFinished",
  Final: "finalClientPacket",
} as const;

/** The last check's time by vhost name (SRS keeps one per process; per vhost is what `interval` in a vhost means). */
const lastCheckAt = new Map<string, number>();

/**
 * Whether a connect to a bandcheck vhost may start a check now: null when it may (and the
 * vhost's clock is set), else why not, for the log and the refusal.
 */
export function admitBandcheck(vhost: string, config: BandcheckConfig, tcUrl: string, now = Date.now()): string | null {
  if (!tcUrl.includes(`key=${config.key}`)) return `bandcheck: the tcUrl has no key=${config.key ? "<the vhost's key>" : ""}`;
  const last = lastCheckAt.get(vhost);
  if (last !== undefined && now - last < config.interval * 1000) {
    return `bandcheck rejected: the last check on this vhost was ${Math.round((now - last) / 1000)} s ago, interval ${config.interval} s`;
  }
  lastCheckAt.set(vhost, now);
  return null;
}

interface Sample {
  bytes: number;
  ms: number;
  kbps: number;
}

function sample(bytes: number, ms: number): Sample {
  return { bytes, ms, kbps: ms > 0 ? Math.round((bytes * 8) / ms) : 0 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One client's check, driven from its connect to its close. */
export class BandCheck {
  private waiting: { name: string; resolve: () => void } | null = null;
  private stopPublishSeen = false;
  private closed = false;

  constructor(
    private readonly session: RtmpServerSession,
    private readonly config: BandcheckConfig,
    private readonly durationMs = BANDCHECK_DURATION_MS,
  ) {}

  /** The client's calls (the session's onCommand). */
  onCommand(name: string): void {
    if (name === BandCheckCall.StopPublish) this.stopPublishSeen = true;
    if (this.waiting && this.waiting.name === name) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve();
    }
  }

  onClose(): void {
    this.closed = true;
    this.waiting = null;
  }

  /** Runs the check; closes the session when done or when the client fails a step. */
  async run(): Promise<void> {
    const s = this.session;
    const flash = (s.connect?.swfUrl ?? "") !== "";
    const plan = { limit_kbps: this.config.limitKbps, duration_ms: this.durationMs, interval_ms: 0 };
    try {
      const startedAt = Date.now();
      this.call(BandCheckCall.StartPlay, plan);
      await this.expect(BandCheckCall.StartingPlay);
      const play = await this.playPhase();
      this.call(BandCheckCall.StopPlay, { duration_ms: this.durationMs, interval_ms: 0, duration_delta: play.ms, bytes_delta: play.bytes });
      await this.expect(BandCheckCall.StoppedPlay);

      this.call(BandCheckCall.StartPublish, plan);
      await this.expect(BandCheckCall.StartingPublish);
      const publish = await this.publishPhase();
      this.call(BandCheckCall.StopPublish, { duration_ms: this.durationMs, interval_ms: 0, duration_delta: publish.ms, bytes_delta: publish.bytes });
      if (!flash) await this.expect(BandCheckCall.StoppedPublish);

      const endedAt = Date.now();
      log.trace(s.id, `bandcheck ${s.peer} ok: ${endedAt - startedAt} ms, play ${play.kbps} kbps (${play.bytes} B in ${play.ms} ms), publish ${publish.kbps} kbps (${publish.bytes} B in ${publish.ms} ms)`);
      this.call(BandCheckCall.Finished, {
        start_time: startedAt,
        end_time: endedAt,
        play_kbps: play.kbps,
        publish_kbps: publish.kbps,
        play_bytes: play.bytes,
        publish_bytes: publish.bytes,
        play_time: play.ms,
        publish_time: publish.ms,
      });
      // A Flash client closes when it gets the report; another answers finalClientPacket.
      if (!flash) await this.expect(BandCheckCall.Final).catch(() => undefined);
      s.end();
    } catch (err) {
      if (this.closed) return;
      s.close(err instanceof SluiceError ? err : SluiceError.wrap(err, "bandcheck", "ERR_RTMP_TIMEOUT"));
    }
  }

  private call(name: string, data: Record<string, Amf0Value>): void {
    if (!this.closed) this.session.sendCommand(0, name, 0, null, data);
  }

  private expect(name: string): Promise<void> {
    if (this.closed) return Promise.reject(new SluiceError("ERR_RTMP_PEER_CLOSED", `bandcheck: closed before ${name}`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new SluiceError("ERR_RTMP_TIMEOUT", `bandcheck: no ${name} within ${ANSWER_TIMEOUT_MS} ms`));
      }, ANSWER_TIMEOUT_MS);
      this.waiting = {
        name,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }

  /** Sends playing packets, growing as SRS's do, for the sample's duration, at most limit_kbps. */
  private async playPhase(): Promise<Sample> {
    const s = this.session;
    const startBytes = s.bytesOut;
    const t0 = Date.now();
    const bytesPerMs = (this.config.limitKbps * 1000) / 8 / 1000;
    let count = 1;
    while (!this.closed && Date.now() - t0 < this.durationMs) {
      const sent = s.bytesOut - startBytes;
      // Ahead of limit_kbps, or Node still holds what the kernel did not take: wait.
      if (sent > bytesPerMs * (Date.now() - t0) || s.socket.writableLength > SOCKET_BYTES) {
        await sleep(10);
        continue;
      }
      const data: Record<string, Amf0Value> = {};
      for (let i = 0; i < count; i++) data[String(i)] = PLAY_DATA;
      count = Math.min(count + 2, 4096);
      this.call(BandCheckCall.Playing, data);
      await new Promise((r) => setImmediate(r));
    }
    return sample(s.bytesOut - startBytes, Date.now() - t0);
  }

  /** Counts what the client sends for the sample's duration, or until it says it stopped. */
  private async publishPhase(): Promise<Sample> {
    const s = this.session;
    const startBytes = s.bytesIn;
    const t0 = Date.now();
    this.stopPublishSeen = false;
    while (!this.closed && !this.stopPublishSeen && Date.now() - t0 < this.durationMs) await sleep(10);
    return sample(s.bytesIn - startBytes, Date.now() - t0);
  }
}
