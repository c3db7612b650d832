/**
 * The client side of SRS 1's bandwidth check (src/app/bandcheck.ts has the protocol): on a
 * connected RtmpClient to a vhost with `bandcheck { enabled on; }`, answers the server's
 * calls, receives its play data, sends publish data at the limit the server names for the
 * duration it names, and resolves with the server's report (onSrsBandCheckFinished).
 */
import { SluiceError } from "../../core/errors.js";
import type { Amf0Value } from "./amf0.js";
import type { RtmpClient } from "./client-session.js";

export interface BandcheckReport {
  /** What the server measured, as its report says (kbps, bytes, ms; times in ms since 1970). */
  playKbps: number;
  publishKbps: number;
  playBytes: number;
  publishBytes: number;
  playMs: number;
  publishMs: number;
  startTime: number;
  endTime: number;
}

const PUBLISH_DATA = "SRS band check data from client's publishing......";

function numberIn(o: Amf0Value | undefined, key: string): number {
  if (o && typeof o === "object" && !Array.isArray(o) && !(o instanceof Date)) {
    const v = (o as Record<string, Amf0Value>)[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return 0;
}

/**
 * Runs the check on `client`; call it before `client.connect()` (the server starts the
 * check with its answer to the connect, possibly in the same read). Resolves with the
 * server's report; rejects when the server closes before it or nothing comes for
 * `timeoutMs`. `onPhase` hears of each direction as it starts.
 */
export function runBandcheck(client: RtmpClient, opts: { timeoutMs?: number; onPhase?: (phase: string) => void } = {}): Promise<BandcheckReport> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise<BandcheckReport>((resolve, reject) => {
    let publishing = false;
    let watchdog = setTimeout(() => fail(new SluiceError("ERR_RTMP_TIMEOUT", `bandcheck: nothing from the server for ${timeoutMs} ms`)), timeoutMs);
    const alive = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => fail(new SluiceError("ERR_RTMP_TIMEOUT", `bandcheck: nothing from the server for ${timeoutMs} ms`)), timeoutMs);
    };
    const done = () => {
      clearTimeout(watchdog);
      publishing = false;
      client.off("command", onCommand);
      client.off("close", onClose);
    };
    const fail = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = (err: SluiceError | undefined) => fail(err ?? new SluiceError("ERR_RTMP_PEER_CLOSED", "bandcheck: the server closed before its report"));

    const publish = async (limitKbps: number, durationMs: number) => {
      const t0 = Date.now();
      const startBytes = client.bytesOut;
      const bytesPerMs = (limitKbps * 1000) / 8 / 1000;
      let count = 1;
      while (publishing && Date.now() - t0 < durationMs) {
        if (client.bytesOut - startBytes > bytesPerMs * (Date.now() - t0)) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        const data: Record<string, Amf0Value> = {};
        for (let i = 0; i < count; i++) data[String(i)] = PUBLISH_DATA;
        count = Math.min(count + 2, 4096);
        client.sendCommand("onSrsBandCheckPublishing", null, data);
        await client.drain();
      }
      if (publishing) client.sendCommand("onSrsBandCheckStopPublishBytes", null, {});
    };

    const onCommand = (name: string, args: Amf0Value[]) => {
      alive();
      const data = args[1];
      switch (name) {
        case "onSrsBandCheckStartPlayBytes":
          opts.onPhase?.("play");
          client.sendCommand("onSrsBandCheckStartingPlayBytes", null, {});
          return;
        case "onSrsBandCheckStopPlayBytes":
          client.sendCommand("onSrsBandCheckStoppedPlayBytes", null, {});
          return;
        case "onSrsBandCheckStartPublishBytes":
          opts.onPhase?.("publish");
          client.sendCommand("onSrsBandCheckStartingPublishBytes", null, {});
          publishing = true;
          void publish(numberIn(data, "limit_kbps") || 1000, numberIn(data, "duration_ms") || 3000);
          return;
        case "onSrsBandCheckStopPublishBytes":
          publishing = false;
          client.sendCommand("onSrsBandCheckStoppedPublishBytes", null, {});
          return;
        case "onSrsBandCheckFinished":
          client.sendCommand("finalClientPacket", null, {});
          done();
          resolve({
            playKbps: numberIn(data, "play_kbps"),
            publishKbps: numberIn(data, "publish_kbps"),
            playBytes: numberIn(data, "play_bytes"),
            publishBytes: numberIn(data, "publish_bytes"),
            playMs: numberIn(data, "play_time"),
            publishMs: numberIn(data, "publish_time"),
            startTime: numberIn(data, "start_time"),
            endTime: numberIn(data, "end_time"),
          });
          return;
        default:
          // onSrsBandCheckPlaying (counted in bytesIn), onBWDone...
          return;
      }
    };
    client.on("command", onCommand);
    client.on("close", onClose);
  });
}
