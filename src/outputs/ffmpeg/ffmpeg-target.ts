/**
 * Where an ffmpeg child reads and writes, in SRS's terms: output templates ([vhost] [port]
 * [app] [stream] [param] [engine], date parts and [timestamp]), the local RTMP URL a
 * transcoder plays, and which vhost/app/stream an RTMP URL names (for the loop guards of
 * ingest and transcode).
 */
import { DEFAULT_VHOST, type SluiceConfig } from "../../conf/config.js";
import { parseRtmpUrl } from "../../protocol/rtmp/client-session.js";

export interface OutputTemplateValues {
  vhost?: string;
  port?: number;
  app?: string;
  stream?: string;
  /** The publish's query string with its "?" (SRS's [param]). */
  param?: string;
  engine?: string;
}

const two = (n: number): string => String(n).padStart(2, "0");

/**
 * Fills an engine's output template. Names without a value (an ingest has no [app] or
 * [stream]) stay as they are, as SRS leaves them. Date parts are local time, Go-style as
 * SRS's srs_path_build_timestamp: [2006] [01] [02] [15] [04] [05] [999], and [timestamp]
 * in ms. One pass, so a stream named "[01]" is not filled again.
 */
export function fillOutputTemplate(template: string, v: OutputTemplateValues, time = new Date()): string {
  const values: Record<string, string | undefined> = {
    vhost: v.vhost,
    port: v.port === undefined ? undefined : String(v.port),
    app: v.app,
    stream: v.stream,
    param: v.param,
    engine: v.engine,
    timestamp: String(time.getTime()),
    "2006": String(time.getFullYear()),
    "01": two(time.getMonth() + 1),
    "02": two(time.getDate()),
    "15": two(time.getHours()),
    "04": two(time.getMinutes()),
    "05": two(time.getSeconds()),
    "999": String(time.getMilliseconds()).padStart(3, "0"),
  };
  return template.replace(/\[([a-z0-9]+)\]/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * SRS's clean-up of an ingest's output: `vhost=__defaultVhost__` is dropped (the default
 * vhost needs no parameter), with the `?` or `&` it leaves behind.
 */
export function dropDefaultVhostParam(url: string): string {
  let out = url.split(`vhost=${DEFAULT_VHOST}`).join("");
  out = out.replace(/\?&/g, "?").replace(/&&+/g, "&").replace(/\?\//g, "/").replace(/[?&]+$/, "");
  return out.replace(/&(?=\/)/g, "");
}

/** The host the server's own children use to reach its first RTMP listener. */
function localHost(config: SluiceConfig): string {
  const host = config.listen[0]?.host ?? "0.0.0.0";
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/** The first RTMP port (SRS's [port]). */
export function rtmpPort(config: SluiceConfig): number {
  return config.listen[0]?.port ?? 1935;
}

/**
 * The URL a transcoder plays `vhost/app/stream` at, SRS's form
 * `rtmp://127.0.0.1:PORT/APP?vhost=VHOST/STREAM` (the listener's own address when it
 * listens on one address only).
 */
export function localRtmpUrl(config: SluiceConfig, vhost: string, app: string, stream: string): string {
  return `rtmp://${localHost(config)}:${rtmpPort(config)}/${app}?vhost=${vhost}/${stream}`;
}

/** The stream an RTMP URL names. */
export interface RtmpTarget {
  /** The vhost this server would put it in when `local`; else the vhost the URL names. */
  vhost: string;
  app: string;
  stream: string;
  /** The URL names this server (a loopback or listen address, and a listen port). */
  local: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|0\.0\.0\.0|::)$/i;

/** What `url` names, or null when it is not rtmp:// with an app and a stream. */
export function rtmpTarget(url: string, config: SluiceConfig): RtmpTarget | null {
  let u: ReturnType<typeof parseRtmpUrl>;
  try {
    u = parseRtmpUrl(url);
  } catch {
    return null;
  }
  const query = new URLSearchParams(u.query);
  const named = query.get("vhost") ?? query.get("domain") ?? u.host;
  const local = (LOOPBACK.test(u.host) || config.listen.some((l) => l.host === u.host)) && config.listen.some((l) => l.port === u.port);
  const strip = (s: string): string => (s.includes("?") ? s.slice(0, s.indexOf("?")) : s);
  return {
    vhost: local && !config.vhosts.has(named) ? DEFAULT_VHOST : named,
    app: strip(u.app),
    stream: strip(u.stream),
    local,
  };
}
