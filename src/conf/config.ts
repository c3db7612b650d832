import * as path from "node:path";
import { ConfError, formatPosition, quoteValue } from "./conf-error.js";
import {
  ConfigContext,
  childPlace,
  readBlock,
  type BlockPlace,
  type BlockRules,
  type ConfigWarning,
  type DirectiveRule,
} from "./directive-reader.js";
import {
  oneArg,
  readChoice,
  readFlag,
  readInteger,
  readListen,
  readNumber,
  readString,
  type ListenAddress,
} from "./directive-values.js";
import { parseIpMatch } from "./ip-match.js";
import { KNOWN_DIRECTIVES } from "./known-directives.js";
import { parseConfFile, parseConfText, type Directive, type ParseOptions } from "./parser.js";

/**
 * The typed config: SRS's directives that Sluice implements, with SRS's defaults, checked,
 * and frozen. Everything else SRS knows is a warning (see directive-reader.ts).
 *
 * Each block has one table mapping directive -> reader (ROOT_RULES, VHOST_RULES, PLAY_RULES);
 * a new directive is a new row, a new block a new table.
 */

export type { ConfigWarning, WarningLevel } from "./directive-reader.js";
export type { ListenAddress } from "./directive-values.js";
export type { Directive } from "./parser.js";
export { ConfError } from "./conf-error.js";

export type LogLevel = "verbose" | "info" | "trace" | "warn" | "error";
export type TimeJitter = "full" | "zero" | "off";

export interface PlayConfig {
  /** gop_cache: keep the last GOP for players that join; default on. */
  gopCache: boolean;
  /** gop_cache_max_frames: bound of the GOP cache in frames; default 2500. */
  gopCacheMaxFrames: number;
  /** queue_length: a player's queue in seconds; default 10. */
  queueLength: number;
  /** time_jitter: timestamp correction; default full. */
  timeJitter: TimeJitter;
  /** mw_latency: merged-write interval in ms; default 350. */
  mwLatency: number;
  /** mw_msgs: messages merged per write; default 8, at most 128. */
  mwMsgs: number;
}

export interface PublishConfig {
  /** firstpkt_timeout: a publisher's first media message within this many ms of publish; default 20000. */
  firstPktTimeout: number;
  /** normal_timeout: then at most this many ms between media messages; default 5000. */
  normalTimeout: number;
}

export interface VhostConfig {
  name: string;
  /** enabled: off refuses the vhost's clients; default on. */
  enabled: boolean;
  /** chunk_size of the vhost, or the global one. */
  chunkSize: number;
  /** min_latency: merged writes at most MIN_LATENCY_MW_MS apart for this vhost's streams; default off. */
  minLatency: boolean;
  /** tcp_nodelay: TCP_NODELAY on the vhost's player sockets; default off. */
  tcpNodelay: boolean;
  play: PlayConfig;
  publish: PublishConfig;
  /** refer { }: allowed pageUrl domains; default off. */
  refer: ReferConfig;
  /** security { }: allow/deny rules by client IP; default off. */
  security: SecurityConfig;
  /** hls { }: HLS segments and playlists; default off. */
  hls: HlsConfig;
  /** http_remux { }: HTTP-FLV and WebSocket-FLV; default off. */
  httpRemux: HttpRemuxConfig;
  /** http_hooks { }: HTTP callbacks; default off. */
  httpHooks: HttpHooksConfig;
  /** forward { }: push every publish to other servers; default off. */
  forward: ForwardConfig;
  /** cluster { }: origin (local) or edge (remote); default local. */
  cluster: ClusterConfig;
  /** dvr { }: recording; default off. */
  dvr: DvrConfig;
  /** bandcheck { }: SRS 1's RTMP bandwidth check on this vhost; default off. */
  bandcheck: BandcheckConfig;
  /** transcode [scope] { }: ffmpeg transcoding of published streams, in file order. */
  transcodes: TranscodeConfig[];
  /** ingest NAME { }: ffmpeg pulling a source into a stream, in file order. */
  ingests: IngestConfig[];
}

export interface ForwardConfig {
  /** enabled: default off (the older `forward HOST:PORT;` turns it on). */
  enabled: boolean;
  /** destination: HOST[:PORT] of each server to push every publish to. */
  destination: string[];
}

export interface ClusterConfig {
  /** mode: local (origin) or remote (edge); default local. */
  mode: "local" | "remote";
  /** origin: HOST[:PORT] of the origins an edge pulls from and pushes to, in failover order. */
  origin: string[];
  /** token_traverse: pass an edge client's connect to the origin; default off. */
  tokenTraverse: boolean;
}

export interface DvrConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** dvr_apply: "all", or the app/stream names to record; default all. */
  apply: string[];
  /** dvr_plan: one file per publish (session) or segments of dvr_duration; default session. */
  plan: "session" | "segment";
  /** dvr_path: the file template; default ./objs/nginx/html/[app]/[stream].[timestamp].flv. */
  path: string;
  /** dvr_duration: seconds of a segment (plan segment); default 30. */
  duration: number;
  /** dvr_wait_keyframe: cut segments at keyframes; default on. */
  waitKeyframe: boolean;
  /** time_jitter: the recording's timestamp correction; default full. */
  timeJitter: TimeJitter;
}

/** A free-form ffmpeg option block (vfilter, vparams, aparams, perfile): names and values in order. */
export type FfmpegOptions = [name: string, value: string][];

export interface TranscodeEngine {
  name: string;
  enabled: boolean;
  iformat: string;
  vfilter: FfmpegOptions;
  vcodec: string;
  vbitrate: number;
  vfps: number;
  vwidth: number;
  vheight: number;
  vthreads: number;
  vprofile: string;
  vpreset: string;
  vparams: FfmpegOptions;
  acodec: string;
  abitrate: number;
  asampleRate: number;
  achannels: number;
  aparams: FfmpegOptions;
  oformat: string;
  output: string;
  perfile: FfmpegOptions;
  /** file:line of the engine, for logs. */
  where: string;
}

export interface TranscodeConfig {
  /** The block's argument: "" (every stream), "APP" or "APP/STREAM". */
  scope: string;
  enabled: boolean;
  /** ffmpeg: the binary; default ./objs/ffmpeg/bin/ffmpeg as SRS, "ffmpeg" from PATH when that is missing. */
  ffmpeg: string;
  engines: TranscodeEngine[];
  where: string;
}

export interface IngestConfig {
  name: string;
  enabled: boolean;
  input: { type: "file" | "stream"; url: string };
  ffmpeg: string;
  engines: TranscodeEngine[];
  where: string;
}

/** Where HLS files go: disk (hls_path), memory (served by our HTTP server, no disk I/O), or both. */
export type HlsStorage = "disk" | "memory" | "both";
export type HlsOnError = "ignore" | "continue" | "disconnect";

export interface HlsConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** hls_fragment: seconds of a segment (cut at the next keyframe after it); default 10. */
  fragment: number;
  /** hls_td_ratio: a segment is cut even without a keyframe at fragment x this; default 1.5. */
  tdRatio: number;
  /** hls_aof_ratio: audio-only streams cut at fragment x this; default 2.0. */
  aofRatio: number;
  /** hls_window: seconds of segments the playlist lists; default 60. */
  window: number;
  /** hls_path: the root of the files, relative to the working directory; default ./objs/nginx/html. */
  path: string;
  /** hls_m3u8_file: the playlist's path under hls_path; default [app]/[stream].m3u8. */
  m3u8File: string;
  /** hls_ts_file: a segment's path under hls_path; default [app]/[stream]-[seq].ts. */
  tsFile: string;
  /** hls_entry_prefix: put before each segment's URL in the playlist; default "". */
  entryPrefix: string;
  /** hls_acodec: aac, mp3, or an (no audio in HLS); default aac. */
  acodec: string;
  /** hls_vcodec: h264, h265, or vn (no video: audio-only HLS); default h264. */
  vcodec: string;
  /** hls_cleanup: delete segments that left the window; default on. */
  cleanup: boolean;
  /** hls_dispose: seconds after unpublish to delete the stream's files, 0 never; default 0. */
  dispose: number;
  /** hls_wait_keyframe: cut only at keyframes (else by time alone); default on. */
  waitKeyframe: boolean;
  /** hls_storage: disk, memory (ram) or both; default disk. Beyond SRS 3+ (SRS 2 had ram). */
  storage: HlsStorage;
  /** hls_on_error: what a mux error does; default continue. */
  onError: HlsOnError;
}

export interface HttpRemuxConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** mount: the URL template, [vhost]/[app]/[stream].flv by default. */
  mount: string;
  /** has_audio / has_video: the FLV header's flags; default on. */
  hasAudio: boolean;
  hasVideo: boolean;
}

/** An RTMP client action that access rules apply to. */
export type AccessAction = "play" | "publish";

export interface ReferConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** all: domains allowed for both play and publish; empty = no check. */
  all: string[];
  /** publish: domains allowed to publish; empty = no check. */
  publish: string[];
  /** play: domains allowed to play; empty = no check. */
  play: string[];
}

export interface SecurityRule {
  action: "allow" | "deny";
  kind: AccessAction;
  /** "all", an IP address, or a CIDR such as 192.168.1.0/24 or fd00::/8. */
  match: string;
  /** file:line of the rule, for logs. */
  where: string;
}

export interface SecurityConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** allow/deny rules in file order (see src/app/access.ts for how they apply). */
  rules: SecurityRule[];
}

export interface HttpServerConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** listen: [IP:]PORT, every address of the first listen directive; default 0.0.0.0:8080. */
  listen: ListenAddress[];
  /** dir: the static files' root, relative to the working directory; default ./objs/nginx/html. */
  dir: string;
  /** crossdomain: CORS headers and OPTIONS preflight; default on (SRS's get_http_stream_crossdomain). */
  crossdomain: boolean;
}

export interface HttpApiConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** listen: [IP:]PORT; default 0.0.0.0:1985. */
  listen: ListenAddress[];
  /** crossdomain: CORS on API answers; default on. */
  crossdomain: boolean;
  /** auth { enabled; username; password; }: HTTP Basic on every /api/ route; default off. */
  auth: { enabled: boolean; username: string; password: string };
  /** raw_api { enabled; allow_reload; }: /api/v1/raw; default off. */
  rawApi: { enabled: boolean; allowReload: boolean };
}

/** http_hooks { }: URLs called on each event; several per event, in order. */
export interface HttpHooksConfig {
  enabled: boolean;
  /** timeout: seconds a hook may take before it counts as failed (denies); Sluice's own; default 30, as SRS. */
  timeout: number;
  onConnect: string[];
  onClose: string[];
  onPublish: string[];
  onUnpublish: string[];
  onPlay: string[];
  onStop: string[];
  onDvr: string[];
  onHls: string[];
}

export interface ExporterConfig {
  /** enabled: default off. */
  enabled: boolean;
  /** listen: [IP:]PORT of /metrics (and the API); default 0.0.0.0:9972. */
  listen: ListenAddress[];
  /** label, tag: labels of srs_build_info; default none. */
  label: string;
  tag: string;
}

export interface SluiceConfig {
  /** Absolute path of the file it was loaded from. */
  file: string;
  /** listen: RTMP addresses, from every listen directive; default 0.0.0.0:1935. */
  listen: ListenAddress[];
  /** chunk_size 128..65536; default 60000. */
  chunkSize: number;
  /** max_connections; default 1000. */
  maxConnections: number;
  /** daemon; default on, as SRS. */
  daemon: boolean;
  /** pid; default ./objs/srs.pid. */
  pid: string;
  /** srs_log_tank (console), srs_log_level (trace), srs_log_file (./objs/srs.log), srs_log_format (text). */
  log: { tank: "console" | "file"; level: LogLevel; file: string; format: "text" | "json" };
  /** pithy_print_ms: interval of the periodic status lines, ms; default 10000. */
  pithyPrintMs: number;
  /** utc_time: log times in UTC; default off. */
  utcTime: boolean;
  /** ff_log_dir: where ffmpeg children log (one file each), or /dev/null; default ./objs. */
  ffLogDir: string;
  /** ff_log_level: ffmpeg children's `-loglevel`; default info (as SRS). */
  ffLogLevel: FfLogLevel;
  /** Every vhost by name; always has "__defaultVhost__". */
  vhosts: ReadonlyMap<string, VhostConfig>;
  /** http_server { }: static files, HLS, HTTP-FLV; default off. */
  httpServer: HttpServerConfig;
  /** http_api { }: SRS's HTTP API; default off. */
  httpApi: HttpApiConfig;
  /** exporter { }: Prometheus metrics; default off. */
  exporter: ExporterConfig;
}

export const DEFAULT_VHOST = "__defaultVhost__";

export interface LoadResult {
  config: SluiceConfig;
  warnings: ConfigWarning[];
}

/** Loads `file` (relative to the working directory, as SRS) with its includes. */
export function loadConfig(file: string, options: ParseOptions = {}): LoadResult {
  const cwd = options.cwd ?? process.cwd();
  return buildConfig(parseConfFile(file, { cwd }), path.resolve(cwd, file));
}

/** Reads config text as if loaded from `fileName`; for tests and for the reload API. */
export function parseConfigText(text: string, fileName: string, options: ParseOptions = {}): LoadResult {
  const cwd = options.cwd ?? process.cwd();
  return buildConfig(parseConfText(text, fileName, { cwd }), path.resolve(cwd, fileName));
}

// ---------------------------------------------------------------------------------------
// Defaults (SRS's, from full.conf and srs_app_config.cpp, except where noted).

const CHUNK_SIZE_MIN = 128;
const CHUNK_SIZE_MAX = 65536;
/** SRS_PERF_MW_MSGS: SRS lowers a larger mw_msgs to this, with a warning. */
const MW_MSGS_MAX = 128;

const PLAY_DEFAULTS: Readonly<PlayConfig> = Object.freeze({
  gopCache: true,
  gopCacheMaxFrames: 2500,
  // SRS-CONF.md's default. SRS 6's code default (SRS_PERF_PLAY_QUEUE) is 30 s, while its
  // sample confs write 10.
  queueLength: 10,
  timeJitter: "full",
  mwLatency: 350,
  mwMsgs: 8,
});

const PUBLISH_DEFAULTS: Readonly<PublishConfig> = Object.freeze({
  firstPktTimeout: 20000,
  normalTimeout: 5000,
});

/** With min_latency on, a vhost's merged writes are at most this many ms apart (see README). */
export const MIN_LATENCY_MW_MS = 100;

const LOG_LEVELS: readonly LogLevel[] = ["verbose", "info", "trace", "warn", "error"];
/** ffmpeg's -loglevel names (full.conf lists the same). */
export const FF_LOG_LEVELS = ["quiet", "panic", "fatal", "error", "warning", "info", "verbose", "debug", "trace"] as const;
export type FfLogLevel = (typeof FF_LOG_LEVELS)[number];
const TIME_JITTERS: readonly TimeJitter[] = ["full", "zero", "off"];

// ---------------------------------------------------------------------------------------
// play { }

/** How each play directive is read: shared by play { } and the older vhost-level spellings. */
interface FieldReader<V> {
  directive: string;
  read(d: Directive, ctx: ConfigContext): V;
}

const PLAY_FIELDS: { readonly [K in keyof PlayConfig]: FieldReader<PlayConfig[K]> } = {
  gopCache: { directive: "gop_cache", read: (d, ctx) => readFlag(d, ctx, PLAY_DEFAULTS.gopCache) },
  gopCacheMaxFrames: { directive: "gop_cache_max_frames", read: (d) => readInteger(d, 0) },
  queueLength: { directive: "queue_length", read: (d) => readNumber(d, 0, 86400, "seconds") },
  timeJitter: { directive: "time_jitter", read: (d) => readChoice(d, TIME_JITTERS) },
  mwLatency: { directive: "mw_latency", read: (d) => readInteger(d, 0) },
  mwMsgs: {
    directive: "mw_msgs",
    read: (d, ctx) => {
      const n = readInteger(d, 0);
      if (n <= MW_MSGS_MAX) return n;
      ctx.warn(d, `"mw_msgs" ${n} is more than ${MW_MSGS_MAX}: read as ${MW_MSGS_MAX}, as SRS does`);
      return MW_MSGS_MAX;
    },
  },
};

type PlayKey = keyof PlayConfig;
const PLAY_KEYS = Object.keys(PLAY_FIELDS) as PlayKey[];

function setPlay<K extends PlayKey>(into: Partial<PlayConfig>, key: K, d: Directive, ctx: ConfigContext): void {
  into[key] = PLAY_FIELDS[key].read(d, ctx);
}

const PLAY_RULES: BlockRules<Partial<PlayConfig>> = Object.fromEntries(
  PLAY_KEYS.map((key): [string, DirectiveRule<Partial<PlayConfig>>] => [
    PLAY_FIELDS[key].directive,
    { read: (d, into, ctx) => setPlay(into, key, d, ctx) },
  ]),
);

// ---------------------------------------------------------------------------------------
// publish { }

const PUBLISH_FIELDS: { readonly [K in keyof PublishConfig]: FieldReader<PublishConfig[K]> } = {
  firstPktTimeout: { directive: "firstpkt_timeout", read: (d) => readInteger(d, 1) },
  normalTimeout: { directive: "normal_timeout", read: (d) => readInteger(d, 1) },
};

type PublishKey = keyof PublishConfig;
const PUBLISH_KEYS = Object.keys(PUBLISH_FIELDS) as PublishKey[];

const PUBLISH_RULES: BlockRules<Partial<PublishConfig>> = Object.fromEntries(
  PUBLISH_KEYS.map((key): [string, DirectiveRule<Partial<PublishConfig>>] => [
    PUBLISH_FIELDS[key].directive,
    { read: (d, into, ctx) => (into[key] = PUBLISH_FIELDS[key].read(d, ctx)) },
  ]),
);

// ---------------------------------------------------------------------------------------
// refer { } and security { }

type ReferList = "all" | "publish" | "play";

/** The domains of a refer list: at least one (SRS would refuse every client for an empty list). */
function readDomains(d: Directive): string[] {
  if (d.args.length === 0) {
    throw new ConfError(
      "ERR_CONF_VALUE",
      d,
      `missing value for ${quoteValue(d.name)}: expected one or more domains, e.g. ${d.name} example.com;`,
    );
  }
  for (const arg of d.args) {
    if (arg === "" || /[\s/]/.test(arg)) {
      throw new ConfError(
        "ERR_CONF_VALUE",
        d,
        `invalid value ${quoteValue(arg)} for ${quoteValue(d.name)}: expected a domain such as example.com`,
      );
    }
  }
  return [...d.args];
}

interface ReferDraft {
  enabled: boolean;
  all?: string[];
  publish?: string[];
  play?: string[];
}

const REFER_RULES: BlockRules<ReferDraft> = {
  enabled: { read: (d, refer, ctx) => (refer.enabled = readFlag(d, ctx, false)) },
  all: { read: (d, refer) => (refer.all = readDomains(d)) },
  publish: { read: (d, refer) => (refer.publish = readDomains(d)) },
  play: { read: (d, refer) => (refer.play = readDomains(d)) },
};

function readSecurityRule(d: Directive, into: SecurityConfig): void {
  const expected = `${d.name} play|publish all|IP|CIDR, e.g. ${d.name} publish 192.168.1.0/24;`;
  if (d.args.length !== 2) {
    throw new ConfError(
      "ERR_CONF_VALUE",
      d,
      `${d.args.length < 2 ? "missing" : "too many"} values for ${quoteValue(d.name)}, given ${d.args.length}: expected ${expected}`,
    );
  }
  const [kind, match] = d.args as [string, string];
  if (kind !== "play" && kind !== "publish") {
    throw new ConfError("ERR_CONF_VALUE", d, `invalid value ${quoteValue(kind)} for ${quoteValue(d.name)}: expected play|publish`);
  }
  if (match !== "all" && !parseIpMatch(match)) {
    throw new ConfError(
      "ERR_CONF_VALUE",
      d,
      `invalid value ${quoteValue(match)} for ${quoteValue(d.name)}: expected all, an IPv4/IPv6 address or a CIDR such as 10.0.0.0/8`,
    );
  }
  into.rules.push({
    action: d.name === "allow" ? "allow" : "deny",
    kind,
    match,
    where: `${d.file}:${d.line}`,
  });
}

const SECURITY_RULES: BlockRules<SecurityConfig> = {
  enabled: { read: (d, security, ctx) => (security.enabled = readFlag(d, ctx, false)) },
  allow: { repeat: "each", read: (d, security) => readSecurityRule(d, security) },
  deny: { repeat: "each", read: (d, security) => readSecurityRule(d, security) },
};

// ---------------------------------------------------------------------------------------
// hls { } and http_remux { }

const HLS_DEFAULTS: Readonly<HlsConfig> = Object.freeze({
  enabled: false,
  fragment: 10,
  tdRatio: 1.5,
  aofRatio: 2.0,
  window: 60,
  path: "./objs/nginx/html",
  m3u8File: "[app]/[stream].m3u8",
  tsFile: "[app]/[stream]-[seq].ts",
  entryPrefix: "",
  acodec: "aac",
  vcodec: "h264",
  cleanup: true,
  dispose: 0,
  waitKeyframe: true,
  storage: "disk",
  onError: "continue",
});

/** A file template under hls_path: relative, no "..", ending in the expected extension. */
function readHlsTemplate(d: Directive, ext: string): string {
  const value = readString(d, `a path template ending in ${ext}, e.g. [app]/[stream]${ext === ".ts" ? "-[seq]" : ""}${ext}`);
  const parts = value.split("/");
  if (value.startsWith("/") || parts.includes("..") || !value.endsWith(ext) || value.includes("\\") || value.includes("\0")) {
    throw new ConfError(
      "ERR_CONF_VALUE",
      d,
      `invalid value ${quoteValue(value)} for ${quoteValue(d.name)}: expected a relative path under hls_path, without "..", ending in ${ext}`,
    );
  }
  return value;
}

const HLS_RULES: BlockRules<Partial<HlsConfig>> = {
  enabled: { read: (d, hls, ctx) => (hls.enabled = readFlag(d, ctx, false)) },
  hls_fragment: { read: (d, hls) => (hls.fragment = readNumber(d, 0.1, 3600, "seconds")) },
  hls_td_ratio: { read: (d, hls) => (hls.tdRatio = readNumber(d, 1, 100, "a ratio")) },
  hls_aof_ratio: { read: (d, hls) => (hls.aofRatio = readNumber(d, 1, 100, "a ratio")) },
  hls_window: { read: (d, hls) => (hls.window = readNumber(d, 0.1, 86400, "seconds")) },
  hls_path: { read: (d, hls) => (hls.path = readString(d, "a directory path")) },
  hls_m3u8_file: { read: (d, hls) => (hls.m3u8File = readHlsTemplate(d, ".m3u8")) },
  hls_ts_file: { read: (d, hls) => (hls.tsFile = readHlsTemplate(d, ".ts")) },
  // Empty (no argument, or "") means none, as the default.
  hls_entry_prefix: { read: (d, hls) => (hls.entryPrefix = d.args.length === 0 ? "" : oneArg(d, "a URL prefix such as https://cdn.example.com/hls")) },
  hls_acodec: { read: (d, hls) => (hls.acodec = readChoice(d, ["aac", "mp3", "an"] as const)) },
  hls_vcodec: { read: (d, hls) => (hls.vcodec = readChoice(d, ["h264", "h265", "vn"] as const)) },
  hls_cleanup: { read: (d, hls, ctx) => (hls.cleanup = readFlag(d, ctx, true)) },
  hls_dispose: { read: (d, hls) => (hls.dispose = readNumber(d, 0, 86400 * 365, "seconds")) },
  hls_wait_keyframe: { read: (d, hls, ctx) => (hls.waitKeyframe = readFlag(d, ctx, true)) },
  // SRS 2 spelled memory "ram"; SRS 3 removed it. Sluice serves it from memory again.
  hls_storage: {
    read: (d, hls) => {
      const v = readChoice(d, ["disk", "memory", "ram", "both"] as const);
      hls.storage = v === "ram" ? "memory" : v;
    },
  },
  hls_on_error: { read: (d, hls) => (hls.onError = readChoice(d, ["ignore", "continue", "disconnect"] as const)) },
};

const HTTP_REMUX_DEFAULTS: Readonly<HttpRemuxConfig> = Object.freeze({
  enabled: false,
  mount: "[vhost]/[app]/[stream].flv",
  hasAudio: true,
  hasVideo: true,
});

const HTTP_REMUX_RULES: BlockRules<Partial<HttpRemuxConfig>> = {
  enabled: { read: (d, remux, ctx) => (remux.enabled = readFlag(d, ctx, false)) },
  mount: {
    read: (d, remux, ctx) => {
      const value = readString(d, "a URL template such as [vhost]/[app]/[stream].flv");
      const other = /\.(ts|aac|mp3)$/.exec(value);
      if (other && value.includes("[app]") && value.includes("[stream]") && !value.split("/").includes("..")) {
        // SRS 2+ streams HTTP-TS, AAC and MP3 on such mounts; Sluice serves FLV only. The
        // file still loads (the vhost's other blocks work); this vhost's http_remux is off.
        ctx.warn(d, `"mount" ${quoteValue(value)} asks for HTTP-${other[1]!.toUpperCase()} streaming, which Sluice does not serve (only .flv mounts): http_remux is off for this vhost`);
        remux.mount = value;
        return;
      }
      if (!value.endsWith(".flv") || !value.includes("[app]") || !value.includes("[stream]") || value.split("/").includes("..")) {
        throw new ConfError(
          "ERR_CONF_VALUE",
          d,
          `invalid value ${quoteValue(value)} for "mount": expected a URL template with [app] and [stream], ending in .flv, e.g. [vhost]/[app]/[stream].flv`,
        );
      }
      remux.mount = value;
    },
  },
  has_audio: { read: (d, remux, ctx) => (remux.hasAudio = readFlag(d, ctx, true)) },
  has_video: { read: (d, remux, ctx) => (remux.hasVideo = readFlag(d, ctx, true)) },
};

// ---------------------------------------------------------------------------------------
// http_hooks { }, http_api { }, exporter { }

const HTTP_HOOKS_DEFAULTS: Readonly<HttpHooksConfig> = Object.freeze({
  enabled: false,
  timeout: 30,
  onConnect: [],
  onClose: [],
  onPublish: [],
  onUnpublish: [],
  onPlay: [],
  onStop: [],
  onDvr: [],
  onHls: [],
});

/** The URLs of a hook: one or more http:// or https:// URLs. */
function readHookUrls(d: Directive): string[] {
  if (d.args.length === 0) {
    throw new ConfError("ERR_CONF_VALUE", d, `missing value for ${quoteValue(d.name)}: expected one or more http:// URLs`);
  }
  for (const url of d.args) {
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ConfError("ERR_CONF_VALUE", d, `invalid value ${quoteValue(url)} for ${quoteValue(d.name)}: expected an http:// or https:// URL`);
    }
  }
  return [...d.args];
}

type HookKey = Exclude<keyof HttpHooksConfig, "enabled" | "timeout">;
const HOOK_DIRECTIVES: readonly (readonly [string, HookKey])[] = [
  ["on_connect", "onConnect"],
  ["on_close", "onClose"],
  ["on_publish", "onPublish"],
  ["on_unpublish", "onUnpublish"],
  ["on_play", "onPlay"],
  ["on_stop", "onStop"],
  ["on_dvr", "onDvr"],
  ["on_hls", "onHls"],
];

const HTTP_HOOKS_RULES: BlockRules<Partial<HttpHooksConfig>> = {
  enabled: { read: (d, hooks, ctx) => (hooks.enabled = readFlag(d, ctx, false)) },
  timeout: { read: (d, hooks) => (hooks.timeout = readNumber(d, 0.1, 600, "seconds")) },
  ...Object.fromEntries(
    HOOK_DIRECTIVES.map(([directive, key]): [string, DirectiveRule<Partial<HttpHooksConfig>>] => [
      directive,
      // Several lines add up, as several URLs on one line do.
      { repeat: "each", read: (d, hooks) => (hooks[key] = [...(hooks[key] ?? []), ...readHookUrls(d)]) },
    ]),
  ),
};

const HTTP_API_DEFAULTS: Readonly<HttpApiConfig> = Object.freeze({
  enabled: false,
  listen: [{ host: "0.0.0.0", port: 1985 }],
  crossdomain: true,
  auth: { enabled: false, username: "", password: "" },
  rawApi: { enabled: false, allowReload: false },
});

interface HttpApiDraft {
  enabled?: boolean;
  listen?: ListenAddress[];
  crossdomain?: boolean;
  auth: Partial<HttpApiConfig["auth"]>;
  rawApi: Partial<HttpApiConfig["rawApi"]>;
}

/** A string that may be empty ("" in the file), e.g. a password. */
function readAnyString(d: Directive, what: string): string {
  return oneArg(d, what);
}

const HTTP_API_AUTH_RULES: BlockRules<Partial<HttpApiConfig["auth"]>> = {
  enabled: { read: (d, auth, ctx) => (auth.enabled = readFlag(d, ctx, false)) },
  username: { read: (d, auth) => (auth.username = readAnyString(d, "a user name")) },
  password: { read: (d, auth) => (auth.password = readAnyString(d, "a password")) },
};

const HTTP_API_RAW_RULES: BlockRules<Partial<HttpApiConfig["rawApi"]>> = {
  enabled: { read: (d, raw, ctx) => (raw.enabled = readFlag(d, ctx, false)) },
  allow_reload: { read: (d, raw, ctx) => (raw.allowReload = readFlag(d, ctx, false)) },
};

const HTTP_API_RULES: BlockRules<HttpApiDraft> = {
  enabled: { read: (d, api, ctx) => (api.enabled = readFlag(d, ctx, false)) },
  listen: { read: (d, api) => (api.listen = readListen(d)) },
  crossdomain: { read: (d, api, ctx) => (api.crossdomain = readFlag(d, ctx, true)) },
  auth: { read: (d, api, ctx) => readBlock(d.children ?? [], HTTP_API_AUTH_PLACE, HTTP_API_AUTH_RULES, api.auth, ctx) },
  raw_api: { read: (d, api, ctx) => readBlock(d.children ?? [], HTTP_API_RAW_PLACE, HTTP_API_RAW_RULES, api.rawApi, ctx) },
};

const EXPORTER_DEFAULTS: Readonly<ExporterConfig> = Object.freeze({
  enabled: false,
  listen: [{ host: "0.0.0.0", port: 9972 }],
  label: "",
  tag: "",
});

const EXPORTER_RULES: BlockRules<Partial<ExporterConfig>> = {
  enabled: { read: (d, e, ctx) => (e.enabled = readFlag(d, ctx, false)) },
  listen: { read: (d, e) => (e.listen = readListen(d)) },
  label: { read: (d, e) => (e.label = readAnyString(d, "a label")) },
  tag: { read: (d, e) => (e.tag = readAnyString(d, "a tag")) },
};

// ---------------------------------------------------------------------------------------
// forward { }, cluster { }, dvr { }, transcode { }, ingest { }

/** HOST[:PORT] of another RTMP server (IPv6 in brackets). */
function readEndpoints(d: Directive): string[] {
  if (d.args.length === 0) {
    throw new ConfError("ERR_CONF_VALUE", d, `missing value for ${quoteValue(d.name)}: expected one or more HOST[:PORT]`);
  }
  for (const a of d.args) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(a) || (a.includes(":") && Number(a.slice(a.lastIndexOf(":") + 1)) > 65535)) {
      throw new ConfError("ERR_CONF_VALUE", d, `invalid value ${quoteValue(a)} for ${quoteValue(d.name)}: expected HOST[:PORT], e.g. 127.0.0.1:19350`);
    }
  }
  return [...d.args];
}

const FORWARD_RULES: BlockRules<Partial<ForwardConfig>> = {
  enabled: { read: (d, f, ctx) => (f.enabled = readFlag(d, ctx, false)) },
  destination: { repeat: "each", read: (d, f) => (f.destination = [...(f.destination ?? []), ...readEndpoints(d)]) },
};

const CLUSTER_RULES: BlockRules<Partial<ClusterConfig>> = {
  mode: { read: (d, c) => (c.mode = readChoice(d, ["local", "remote"] as const)) },
  origin: { repeat: "each", read: (d, c) => (c.origin = [...(c.origin ?? []), ...readEndpoints(d)]) },
  token_traverse: { read: (d, c, ctx) => (c.tokenTraverse = readFlag(d, ctx, false)) },
};

/** bandcheck { } (SRS 1: SrsBandwidth; SRS 5 removed it with Flash). */
export interface BandcheckConfig {
  enabled: boolean;
  /** The key a client must give as `key=...` in its tcUrl. */
  key: string;
  /** Least time between two checks on the vhost, seconds. */
  interval: number;
  /** The most the check sends or takes, kbps. */
  limitKbps: number;
}

/** SRS 1's defaults: interval 30 s, limit_kbps 1000. */
const BANDCHECK_DEFAULTS: Readonly<BandcheckConfig> = Object.freeze({ enabled: false, key: "", interval: 30, limitKbps: 1000 });

const BANDCHECK_RULES: BlockRules<Partial<BandcheckConfig>> = {
  enabled: { read: (d, b, ctx) => (b.enabled = readFlag(d, ctx, false)) },
  // "" (the default) is a key too: any tcUrl with "key=" in it.
  key: { read: (d, b) => (b.key = oneArg(d, "the key clients give as key=... in their tcUrl")) },
  interval: { read: (d, b) => (b.interval = readNumber(d, 0, 86_400, "seconds")) },
  limit_kbps: { read: (d, b) => (b.limitKbps = readInteger(d, 1)) },
};

const DVR_DEFAULTS: Readonly<DvrConfig> = Object.freeze({
  enabled: false,
  apply: ["all"],
  plan: "session",
  path: "./objs/nginx/html/[app]/[stream].[timestamp].flv",
  duration: 30,
  waitKeyframe: true,
  timeJitter: "full",
});

const DVR_RULES: BlockRules<Partial<DvrConfig>> = {
  enabled: { read: (d, v, ctx) => (v.enabled = readFlag(d, ctx, false)) },
  dvr_apply: {
    read: (d, v) => {
      if (d.args.length === 0) throw new ConfError("ERR_CONF_VALUE", d, `missing value for "dvr_apply": expected all, or APP/STREAM names`);
      v.apply = [...d.args];
    },
  },
  dvr_plan: { read: (d, v) => (v.plan = readChoice(d, ["session", "segment"] as const)) },
  dvr_path: {
    read: (d, v) => {
      const p = readString(d, "a file template ending in .flv or .mp4");
      if (!/\.(flv|mp4)$/i.test(p)) {
        throw new ConfError("ERR_CONF_VALUE", d, `invalid value ${quoteValue(p)} for "dvr_path": expected a file template ending in .flv or .mp4`);
      }
      v.path = p;
    },
  },
  dvr_duration: { read: (d, v) => (v.duration = readNumber(d, 1, 86400, "seconds")) },
  dvr_wait_keyframe: { read: (d, v, ctx) => (v.waitKeyframe = readFlag(d, ctx, true)) },
  time_jitter: { read: (d, v) => (v.timeJitter = readChoice(d, TIME_JITTERS)) },
};

/** A free-form block's children as [name, value] pairs, in order. */
function readOptions(d: Directive): FfmpegOptions {
  return (d.children ?? []).map((c): [string, string] => [c.name, c.args.join(" ")]);
}

const ENGINE_DEFAULTS = {
  enabled: false,
  iformat: "",
  vcodec: "",
  vbitrate: 0,
  vfps: 0,
  vwidth: 0,
  vheight: 0,
  vthreads: 0,
  vprofile: "",
  vpreset: "",
  acodec: "",
  abitrate: 0,
  asampleRate: 0,
  achannels: 0,
  oformat: "",
  output: "",
} as const;

type EngineDraft = Omit<TranscodeEngine, "vfilter" | "vparams" | "aparams" | "perfile"> & {
  vfilter: FfmpegOptions;
  vparams: FfmpegOptions;
  aparams: FfmpegOptions;
  perfile: FfmpegOptions;
};

const ENGINE_RULES: BlockRules<EngineDraft> = {
  enabled: { read: (d, e, ctx) => (e.enabled = readFlag(d, ctx, false)) },
  iformat: { read: (d, e) => (e.iformat = oneArg(d, "an ffmpeg format name")) },
  vcodec: { read: (d, e) => (e.vcodec = oneArg(d, "an ffmpeg video codec, copy or vn")) },
  vbitrate: { read: (d, e) => (e.vbitrate = readInteger(d, 0)) },
  vfps: { read: (d, e) => (e.vfps = readNumber(d, 0, 1000, "frames per second")) },
  vwidth: { read: (d, e) => (e.vwidth = readInteger(d, 0, 16384)) },
  vheight: { read: (d, e) => (e.vheight = readInteger(d, 0, 16384)) },
  vthreads: { read: (d, e) => (e.vthreads = readInteger(d, 0, 256)) },
  vprofile: { read: (d, e) => (e.vprofile = oneArg(d, "a video profile")) },
  vpreset: { read: (d, e) => (e.vpreset = oneArg(d, "an encoder preset")) },
  acodec: { read: (d, e) => (e.acodec = oneArg(d, "an ffmpeg audio codec, copy or an")) },
  abitrate: { read: (d, e) => (e.abitrate = readInteger(d, 0)) },
  asample_rate: { read: (d, e) => (e.asampleRate = readInteger(d, 0, 384000)) },
  achannels: { read: (d, e) => (e.achannels = readInteger(d, 0, 64)) },
  oformat: { read: (d, e) => (e.oformat = oneArg(d, "an ffmpeg format name")) },
  output: { read: (d, e) => (e.output = oneArg(d, "an output URL template")) },
  vfilter: { read: (d, e) => (e.vfilter = readOptions(d)) },
  vparams: { read: (d, e) => (e.vparams = readOptions(d)) },
  aparams: { read: (d, e) => (e.aparams = readOptions(d)) },
  perfile: { read: (d, e) => (e.perfile = readOptions(d)) },
};

function newEngine(name: string, d: Directive): EngineDraft {
  return { ...ENGINE_DEFAULTS, name, vfilter: [], vparams: [], aparams: [], perfile: [], where: `${d.file}:${d.line}` };
}

/** SRS's default ffmpeg path; "ffmpeg" (from PATH) stands in when it does not exist at start. */
const SRS_FFMPEG = "./objs/ffmpeg/bin/ffmpeg";

interface TranscodeDraft {
  scope: string;
  enabled: boolean;
  ffmpeg: string;
  engines: EngineDraft[];
  where: string;
}

const TRANSCODE_RULES: BlockRules<TranscodeDraft> = {
  enabled: { read: (d, t, ctx) => (t.enabled = readFlag(d, ctx, false)) },
  ffmpeg: { read: (d, t) => (t.ffmpeg = readString(d, "the ffmpeg binary")) },
  engine: {
    repeat: "each",
    read: (d, t, ctx) => {
      // SRS allows an engine without a name (full.conf has `engine { enabled off; }`): its
      // name is "", and [engine] in its output is filled with nothing, as SRS does.
      if (d.args.length > 1) oneArg(d, "an engine name, e.g. engine sd { ... }");
      const name = d.args[0] ?? "";
      if (t.engines.some((e) => e.name === name)) {
        throw new ConfError("ERR_CONF_VALUE", d, name === "" ? `a second engine without a name: name them, e.g. engine sd { ... }` : `duplicate engine ${quoteValue(name)}`);
      }
      const e = newEngine(name, d);
      readBlock(d.children ?? [], TRANSCODE_ENGINE_PLACE, ENGINE_RULES, e, ctx);
      t.engines.push(e);
    },
  },
};

interface IngestDraft {
  name: string;
  /** Written without a name (SRS allows it). */
  unnamed?: boolean;
  enabled: boolean;
  input: { type: "file" | "stream"; url: string };
  ffmpeg: string;
  engines: EngineDraft[];
  where: string;
}

const INGEST_INPUT_RULES: BlockRules<IngestDraft["input"]> = {
  type: { read: (d, i) => (i.type = readChoice(d, ["file", "stream"] as const)) },
  url: { read: (d, i) => (i.url = readString(d, "a file path or URL ffmpeg can read")) },
};

const INGEST_RULES: BlockRules<IngestDraft> = {
  enabled: { read: (d, g, ctx) => (g.enabled = readFlag(d, ctx, false)) },
  ffmpeg: { read: (d, g) => (g.ffmpeg = readString(d, "the ffmpeg binary")) },
  input: { read: (d, g, ctx) => readBlock(d.children ?? [], INGEST_INPUT_PLACE, INGEST_INPUT_RULES, g.input, ctx) },
  // SRS's ingest engines have no names; several are allowed.
  engine: {
    repeat: "each",
    read: (d, g, ctx) => {
      const e = newEngine(d.args[0] ?? `${g.engines.length}`, d);
      readBlock(d.children ?? [], INGEST_ENGINE_PLACE, ENGINE_RULES, e, ctx);
      g.engines.push(e);
    },
  },
};

// ---------------------------------------------------------------------------------------
// http_server { }

const HTTP_SERVER_DEFAULTS: Readonly<HttpServerConfig> = Object.freeze({
  enabled: false,
  listen: [{ host: "0.0.0.0", port: 8080 }],
  dir: "./objs/nginx/html",
  crossdomain: true,
});

const HTTP_SERVER_RULES: BlockRules<Partial<HttpServerConfig>> = {
  enabled: { read: (d, http, ctx) => (http.enabled = readFlag(d, ctx, HTTP_SERVER_DEFAULTS.enabled)) },
  listen: { read: (d, http) => (http.listen = readListen(d)) },
  dir: { read: (d, http) => (http.dir = readString(d, "a directory path")) },
  crossdomain: { read: (d, http, ctx) => (http.crossdomain = readFlag(d, ctx, HTTP_SERVER_DEFAULTS.crossdomain)) },
};

// ---------------------------------------------------------------------------------------
// vhost NAME { }

interface VhostDraft {
  name: string;
  at: Directive;
  enabled: boolean;
  chunkSize?: number;
  minLatency: boolean;
  tcpNodelay: boolean;
  play: Partial<PlayConfig>;
  /** The older vhost-level spellings, which override play { } as SRS's transform does. */
  legacyPlay: Partial<PlayConfig>;
  publish: Partial<PublishConfig>;
  /** publish_1stpkt_timeout / publish_normal_timeout at vhost level: override publish { }. */
  legacyPublish: Partial<PublishConfig>;
  refer: ReferDraft;
  /** refer / refer_play / refer_publish at vhost level: override refer { } and turn it on. */
  legacyRefer: Partial<Record<ReferList, string[]>>;
  security: SecurityConfig;
  hls: Partial<HlsConfig>;
  httpRemux: Partial<HttpRemuxConfig>;
  httpHooks: Partial<HttpHooksConfig>;
  forward: Partial<ForwardConfig>;
  cluster: Partial<ClusterConfig>;
  dvr: Partial<DvrConfig>;
  bandcheck: Partial<BandcheckConfig>;
  transcodes: TranscodeDraft[];
  ingests: IngestDraft[];
}

/**
 * SRS's srs_config_transform_vhost reads `refer d...;` as `refer { enabled on; all d...; }`,
 * `refer_play` as `play` and `refer_publish` as `publish` in it; so do we, with a notice.
 */
function readLegacyRefer(d: Directive, vhost: VhostDraft, ctx: ConfigContext, list: ReferList): void {
  vhost.legacyRefer[list] = readDomains(d);
  ctx.warn(
    d,
    `vhost-level ${quoteValue(d.name)} is SRS's older form; read as "refer { enabled on; ${list} ${d.args.join(" ")}; }"`,
    "notice",
    `legacy:vhost.${d.name}`,
  );
}

/**
 * SRS 1-3 wrote these at vhost level. SRS's srs_config_transform_vhost moves each into
 * play { }, over what play { } says, the last one winning; so do we, with a notice.
 */
const VHOST_LEGACY_PLAY_RULES: BlockRules<VhostDraft> = Object.fromEntries(
  (["gopCache", "gopCacheMaxFrames", "queueLength", "timeJitter", "mwLatency"] as const).map(
    (key): [string, DirectiveRule<VhostDraft>] => {
      const directive = PLAY_FIELDS[key].directive;
      return [
        directive,
        {
          repeat: "each",
          read: (d, vhost, ctx) => {
            setPlay(vhost.legacyPlay, key, d, ctx);
            ctx.warn(
              d,
              `vhost-level ${quoteValue(directive)} is SRS's older form; read as "play { ${directive} ${d.args.join(" ")}; }"`,
              "notice",
              `legacy:vhost.${directive}`,
            );
          },
        },
      ];
    },
  ),
);

/**
 * SRS 1-3's vhost-level publish_1stpkt_timeout and publish_normal_timeout: SRS's
 * srs_config_transform_vhost moves them into publish { }; so do we, with a notice.
 */
const VHOST_LEGACY_PUBLISH_RULES: BlockRules<VhostDraft> = Object.fromEntries(
  (
    [
      ["publish_1stpkt_timeout", "firstPktTimeout"],
      ["publish_normal_timeout", "normalTimeout"],
    ] as const
  ).map(([legacy, key]): [string, DirectiveRule<VhostDraft>] => {
    const directive = PUBLISH_FIELDS[key].directive;
    return [
      legacy,
      {
        repeat: "each",
        read: (d, vhost, ctx) => {
          vhost.legacyPublish[key] = PUBLISH_FIELDS[key].read(d, ctx);
          ctx.warn(
            d,
            `vhost-level ${quoteValue(legacy)} is SRS's older form; read as "publish { ${directive} ${d.args.join(" ")}; }"`,
            "notice",
            `legacy:vhost.${legacy}`,
          );
        },
      },
    ];
  }),
);

const VHOST_RULES: BlockRules<VhostDraft> = {
  enabled: { read: (d, vhost, ctx) => (vhost.enabled = readFlag(d, ctx, true)) },
  chunk_size: { read: (d, vhost) => (vhost.chunkSize = readInteger(d, CHUNK_SIZE_MIN, CHUNK_SIZE_MAX)) },
  min_latency: { read: (d, vhost, ctx) => (vhost.minLatency = readFlag(d, ctx, false)) },
  tcp_nodelay: { read: (d, vhost, ctx) => (vhost.tcpNodelay = readFlag(d, ctx, false)) },
  // As SRS (get("publish")), only the first publish block is read.
  publish: {
    read: (d, vhost, ctx) => readBlock(d.children ?? [], VHOST_PUBLISH_PLACE, PUBLISH_RULES, vhost.publish, ctx),
  },
  // As SRS (get("play")), only the first play block is read.
  play: {
    read: (d, vhost, ctx) => readBlock(d.children ?? [], VHOST_PLAY_PLACE, PLAY_RULES, vhost.play, ctx),
  },
  // As SRS, only the first refer { } and security { } are read. A plain `refer d...;` is
  // SRS's older spelling of refer { all d...; }.
  refer: {
    read: (d, vhost, ctx) => {
      if (d.children === undefined) readLegacyRefer(d, vhost, ctx, "all");
      else readBlock(d.children, VHOST_REFER_PLACE, REFER_RULES, vhost.refer, ctx);
    },
  },
  refer_play: { read: (d, vhost, ctx) => readLegacyRefer(d, vhost, ctx, "play") },
  refer_publish: { read: (d, vhost, ctx) => readLegacyRefer(d, vhost, ctx, "publish") },
  security: {
    read: (d, vhost, ctx) => {
      readBlock(d.children ?? [], VHOST_SECURITY_PLACE, SECURITY_RULES, vhost.security, ctx);
      if (vhost.security.enabled && vhost.security.rules.length === 0) {
        ctx.warn(d, `"security" is enabled without allow or deny rules: every client is refused, as SRS does`);
      }
    },
  },
  // As SRS, only the first http_hooks { }, hls { } and http_remux { } are read.
  http_hooks: {
    read: (d, vhost, ctx) => {
      readBlock(d.children ?? [], VHOST_HTTP_HOOKS_PLACE, HTTP_HOOKS_RULES, vhost.httpHooks, ctx);
      // SRS 1 had no `enabled` here: URLs alone turned hooks on. SRS maps it; so do we.
      const h = vhost.httpHooks;
      if (h.enabled === undefined && HOOK_DIRECTIVES.some(([, key]) => (h[key]?.length ?? 0) > 0)) {
        h.enabled = true;
        ctx.warn(d, `"http_hooks" without "enabled" is SRS's older form; read as "enabled on;" because it has URLs`, "notice", "legacy:vhost.http_hooks");
      }
    },
  },
  hls: { read: (d, vhost, ctx) => readBlock(d.children ?? [], VHOST_HLS_PLACE, HLS_RULES, vhost.hls, ctx) },
  http_remux: {
    read: (d, vhost, ctx) => {
      readBlock(d.children ?? [], VHOST_HTTP_REMUX_PLACE, HTTP_REMUX_RULES, vhost.httpRemux, ctx);
      // A mount Sluice does not serve (warned above) turns the block off.
      if (vhost.httpRemux.mount !== undefined && !vhost.httpRemux.mount.endsWith(".flv")) {
        vhost.httpRemux.enabled = false;
        delete vhost.httpRemux.mount;
      }
    },
  },
  // `forward HOST:PORT ...;` is SRS's older form of forward { enabled on; destination ...; }.
  forward: {
    read: (d, vhost, ctx) => {
      if (d.children === undefined) {
        vhost.forward = { enabled: true, destination: readEndpoints(d) };
        ctx.warn(d, `vhost-level "forward ${d.args.join(" ")};" is SRS's older form; read as "forward { enabled on; destination ${d.args.join(" ")}; }"`, "notice", "legacy:vhost.forward");
      } else {
        readBlock(d.children, VHOST_FORWARD_PLACE, FORWARD_RULES, vhost.forward, ctx);
      }
    },
  },
  cluster: { read: (d, vhost, ctx) => readBlock(d.children ?? [], VHOST_CLUSTER_PLACE, CLUSTER_RULES, vhost.cluster, ctx) },
  dvr: { read: (d, vhost, ctx) => readBlock(d.children ?? [], VHOST_DVR_PLACE, DVR_RULES, vhost.dvr, ctx) },
  bandcheck: { read: (d, vhost, ctx) => readBlock(d.children ?? [], childPlace(VHOST_PLACE, "bandcheck"), BANDCHECK_RULES, vhost.bandcheck, ctx) },
  transcode: {
    repeat: "each",
    read: (d, vhost, ctx) => {
      const scope = d.args[0] ?? "";
      if (d.args.length > 1 || scope.split("/").length > 2 || scope.startsWith("/") || scope.endsWith("/")) {
        throw new ConfError("ERR_CONF_VALUE", d, `invalid scope for "transcode": expected nothing, APP or APP/STREAM`);
      }
      const t: TranscodeDraft = { scope, enabled: false, ffmpeg: SRS_FFMPEG, engines: [], where: `${d.file}:${d.line}` };
      readBlock(d.children ?? [], VHOST_TRANSCODE_PLACE, TRANSCODE_RULES, t, ctx);
      vhost.transcodes.push(t);
    },
  },
  ingest: {
    repeat: "each",
    read: (d, vhost, ctx) => {
      // SRS allows an ingest without a name (its conf/ingest.rtsp.conf has one): it gets
      // one here, "ingest" and its place among the vhost's unnamed ingests, for logs and the API.
      const name = d.args.length === 0 ? `ingest${vhost.ingests.filter((g) => g.unnamed).length + 1}` : oneArg(d, "an ingest name, e.g. ingest livestream { ... }");
      if (vhost.ingests.some((g) => g.name === name)) throw new ConfError("ERR_CONF_VALUE", d, `duplicate ingest ${quoteValue(name)} in vhost ${quoteValue(vhost.name)}`);
      const g: IngestDraft = { name, unnamed: d.args.length === 0, enabled: false, input: { type: "file", url: "" }, ffmpeg: SRS_FFMPEG, engines: [], where: `${d.file}:${d.line}` };
      readBlock(d.children ?? [], VHOST_INGEST_PLACE, INGEST_RULES, g, ctx);
      if (g.enabled && g.input.url === "") throw new ConfError("ERR_CONF_VALUE", d, `ingest ${quoteValue(name)} is enabled without input { url; }`);
      vhost.ingests.push(g);
    },
  },
  ...VHOST_LEGACY_PLAY_RULES,
  ...VHOST_LEGACY_PUBLISH_RULES,
};

// ---------------------------------------------------------------------------------------
// The top level.

interface RootDraft {
  listen: ListenAddress[];
  listenAt: Map<string, Directive>;
  chunkSize: number;
  maxConnections: number;
  daemon: boolean;
  pid: string;
  logTank: "console" | "file";
  logLevel: LogLevel;
  logFile: string;
  pithyPrintMs: number;
  utcTime: boolean;
  logFormat: "text" | "json";
  ffLogDir: string;
  ffLogLevel: FfLogLevel;
  vhosts: Map<string, VhostDraft>;
  httpServer: Partial<HttpServerConfig>;
  httpApi: HttpApiDraft;
  exporter: Partial<ExporterConfig>;
}

const ROOT_RULES: BlockRules<RootDraft> = {
  // Every listen directive adds its addresses. SRS reads only the first listen directive;
  // several are allowed here so that an included file can add a port.
  listen: {
    repeat: "each",
    read: (d, root, ctx) => {
      for (const address of readListen(d)) {
        const key = `${address.host}|${address.port}`;
        const first = root.listenAt.get(key);
        if (first) {
          ctx.warn(d, `duplicate listen address ${formatAddress(address)} ignored (first at ${formatPosition(first)})`);
          continue;
        }
        root.listenAt.set(key, d);
        root.listen.push(address);
      }
    },
  },
  chunk_size: { read: (d, root) => (root.chunkSize = readInteger(d, CHUNK_SIZE_MIN, CHUNK_SIZE_MAX)) },
  max_connections: { read: (d, root) => (root.maxConnections = readInteger(d, 1)) },
  daemon: { read: (d, root, ctx) => (root.daemon = readFlag(d, ctx, true)) },
  pid: { read: (d, root) => (root.pid = readString(d, "a file path")) },
  srs_log_tank: { read: (d, root) => (root.logTank = readChoice(d, ["console", "file"] as const)) },
  srs_log_level: { read: (d, root) => (root.logLevel = readChoice(d, LOG_LEVELS)) },
  srs_log_file: { read: (d, root) => (root.logFile = readString(d, "a file path")) },
  srs_log_format: { read: (d, root) => (root.logFormat = readChoice(d, ["text", "json"] as const)) },
  ff_log_dir: { read: (d, root) => (root.ffLogDir = readString(d, "a directory, or /dev/null")) },
  ff_log_level: { read: (d, root) => (root.ffLogLevel = readChoice(d, FF_LOG_LEVELS)) },
  // SRS has no lower bound; below 100 ms the status lines would flood the log.
  pithy_print_ms: { read: (d, root) => (root.pithyPrintMs = readInteger(d, 100)) },
  utc_time: { read: (d, root, ctx) => (root.utcTime = readFlag(d, ctx, false)) },
  // As SRS, only the first http_api { } and exporter { } are read.
  http_api: { read: (d, root, ctx) => readBlock(d.children ?? [], HTTP_API_PLACE, HTTP_API_RULES, root.httpApi, ctx) },
  exporter: { read: (d, root, ctx) => readBlock(d.children ?? [], EXPORTER_PLACE, EXPORTER_RULES, root.exporter, ctx) },
  // As SRS (root->get("http_server")), only the first block is read.
  http_server: {
    read: (d, root, ctx) => readBlock(d.children ?? [], HTTP_SERVER_PLACE, HTTP_SERVER_RULES, root.httpServer, ctx),
  },
  vhost: {
    repeat: "each",
    read: (d, root, ctx) => {
      const name = oneArg(d, "a vhost name, e.g. vhost __defaultVhost__ { }");
      if (name === "") throw new ConfError("ERR_CONF_VALUE", d, `invalid vhost name "": expected a vhost name`);
      const first = root.vhosts.get(name);
      if (first) {
        throw new ConfError(
          "ERR_CONF_VALUE",
          d,
          `duplicate vhost ${quoteValue(name)}: expected each vhost once (first at ${formatPosition(first.at)})`,
        );
      }
      const vhost: VhostDraft = {
        name,
        at: d,
        enabled: true,
        minLatency: false,
        tcpNodelay: false,
        play: {},
        legacyPlay: {},
        publish: {},
        legacyPublish: {},
        refer: { enabled: false },
        legacyRefer: {},
        security: { enabled: false, rules: [] },
        hls: {},
        httpRemux: {},
        httpHooks: {},
        forward: {},
        cluster: {},
        dvr: {},
        bandcheck: {},
        transcodes: [],
        ingests: [],
      };
      root.vhosts.set(name, vhost);
      readBlock(d.children ?? [], VHOST_PLACE, VHOST_RULES, vhost, ctx);
    },
  },
};

const ROOT_PLACE: BlockPlace = { known: KNOWN_DIRECTIVES, path: "" };
const VHOST_PLACE = childPlace(ROOT_PLACE, "vhost");
const HTTP_SERVER_PLACE = childPlace(ROOT_PLACE, "http_server");
const VHOST_PLAY_PLACE = childPlace(VHOST_PLACE, "play");
const VHOST_PUBLISH_PLACE = childPlace(VHOST_PLACE, "publish");
const VHOST_REFER_PLACE = childPlace(VHOST_PLACE, "refer");
const VHOST_SECURITY_PLACE = childPlace(VHOST_PLACE, "security");
const VHOST_HLS_PLACE = childPlace(VHOST_PLACE, "hls");
const VHOST_HTTP_HOOKS_PLACE = childPlace(VHOST_PLACE, "http_hooks");
const VHOST_FORWARD_PLACE = childPlace(VHOST_PLACE, "forward");
const VHOST_CLUSTER_PLACE = childPlace(VHOST_PLACE, "cluster");
const VHOST_DVR_PLACE = childPlace(VHOST_PLACE, "dvr");
const VHOST_TRANSCODE_PLACE = childPlace(VHOST_PLACE, "transcode");
const TRANSCODE_ENGINE_PLACE = childPlace(VHOST_TRANSCODE_PLACE, "engine");
const VHOST_INGEST_PLACE = childPlace(VHOST_PLACE, "ingest");
const INGEST_INPUT_PLACE = childPlace(VHOST_INGEST_PLACE, "input");
const INGEST_ENGINE_PLACE = childPlace(VHOST_INGEST_PLACE, "engine");
const HTTP_API_PLACE = childPlace(ROOT_PLACE, "http_api");
const HTTP_API_AUTH_PLACE = childPlace(HTTP_API_PLACE, "auth");
const HTTP_API_RAW_PLACE = childPlace(HTTP_API_PLACE, "raw_api");
const EXPORTER_PLACE = childPlace(ROOT_PLACE, "exporter");
const VHOST_HTTP_REMUX_PLACE = childPlace(VHOST_PLACE, "http_remux");

// ---------------------------------------------------------------------------------------

function buildConfig(tree: readonly Directive[], file: string): LoadResult {
  const ctx = new ConfigContext();
  const root: RootDraft = {
    listen: [],
    listenAt: new Map(),
    chunkSize: 60000,
    maxConnections: 1000,
    daemon: true,
    pid: "./objs/srs.pid",
    logTank: "console",
    logLevel: "trace",
    logFile: "./objs/srs.log",
    pithyPrintMs: 10000,
    utcTime: false,
    logFormat: "text",
    ffLogDir: "./objs",
    ffLogLevel: "info",
    vhosts: new Map(),
    httpServer: {},
    httpApi: { auth: {}, rawApi: {} },
    exporter: {},
  };
  readBlock(tree, ROOT_PLACE, ROOT_RULES, root, ctx);

  const vhosts = new Map<string, VhostConfig>();
  if (!root.vhosts.has(DEFAULT_VHOST)) {
    const play = { ...PLAY_DEFAULTS };
    vhosts.set(DEFAULT_VHOST, {
      name: DEFAULT_VHOST,
      enabled: true,
      chunkSize: root.chunkSize,
      minLatency: false,
      tcpNodelay: false,
      play,
      publish: { ...PUBLISH_DEFAULTS },
      refer: { enabled: false, all: [], publish: [], play: [] },
      security: { enabled: false, rules: [] },
      hls: { ...HLS_DEFAULTS },
      httpRemux: { ...HTTP_REMUX_DEFAULTS },
      httpHooks: copyHooks(HTTP_HOOKS_DEFAULTS),
      forward: { enabled: false, destination: [] },
      cluster: { mode: "local", origin: [], tokenTraverse: false },
      dvr: { ...DVR_DEFAULTS, apply: [...DVR_DEFAULTS.apply] },
      bandcheck: { ...BANDCHECK_DEFAULTS },
      transcodes: [],
      ingests: [],
    });
  }
  for (const draft of root.vhosts.values()) {
    vhosts.set(draft.name, {
      name: draft.name,
      enabled: draft.enabled,
      chunkSize: draft.chunkSize ?? root.chunkSize,
      minLatency: draft.minLatency,
      tcpNodelay: draft.tcpNodelay,
      play: { ...PLAY_DEFAULTS, ...draft.play, ...draft.legacyPlay },
      publish: { ...PUBLISH_DEFAULTS, ...draft.publish, ...draft.legacyPublish },
      refer: buildRefer(draft),
      security: { enabled: draft.security.enabled, rules: [...draft.security.rules] },
      hls: { ...HLS_DEFAULTS, ...draft.hls },
      httpRemux: { ...HTTP_REMUX_DEFAULTS, ...draft.httpRemux },
      httpHooks: copyHooks({ ...HTTP_HOOKS_DEFAULTS, ...draft.httpHooks }),
      forward: { enabled: draft.forward.enabled ?? false, destination: [...(draft.forward.destination ?? [])] },
      cluster: { mode: draft.cluster.mode ?? "local", origin: [...(draft.cluster.origin ?? [])], tokenTraverse: draft.cluster.tokenTraverse ?? false },
      dvr: { ...DVR_DEFAULTS, ...draft.dvr, apply: [...(draft.dvr.apply ?? DVR_DEFAULTS.apply)] },
      bandcheck: { ...BANDCHECK_DEFAULTS, ...draft.bandcheck },
      transcodes: draft.transcodes.map((t) => ({ ...t, engines: t.engines.map(copyEngine) })),
      ingests: draft.ingests.map(({ unnamed: _unnamed, ...g }) => ({ ...g, input: { ...g.input }, engines: g.engines.map(copyEngine) })),
    });
  }

  const config: SluiceConfig = {
    file,
    listen: root.listen.length > 0 ? root.listen : [{ host: "0.0.0.0", port: 1935 }],
    chunkSize: root.chunkSize,
    maxConnections: root.maxConnections,
    daemon: root.daemon,
    pid: root.pid,
    log: { tank: root.logTank, level: root.logLevel, file: root.logFile, format: root.logFormat },
    pithyPrintMs: root.pithyPrintMs,
    utcTime: root.utcTime,
    ffLogDir: root.ffLogDir,
    ffLogLevel: root.ffLogLevel,
    vhosts: new FrozenMap(vhosts),
    httpServer: {
      ...HTTP_SERVER_DEFAULTS,
      ...root.httpServer,
      listen: [...(root.httpServer.listen ?? HTTP_SERVER_DEFAULTS.listen)].map((a) => ({ ...a })),
    },
    httpApi: {
      enabled: root.httpApi.enabled ?? HTTP_API_DEFAULTS.enabled,
      listen: [...(root.httpApi.listen ?? HTTP_API_DEFAULTS.listen)].map((a) => ({ ...a })),
      crossdomain: root.httpApi.crossdomain ?? HTTP_API_DEFAULTS.crossdomain,
      auth: { ...HTTP_API_DEFAULTS.auth, ...root.httpApi.auth },
      rawApi: { ...HTTP_API_DEFAULTS.rawApi, ...root.httpApi.rawApi },
    },
    exporter: {
      ...EXPORTER_DEFAULTS,
      ...root.exporter,
      listen: [...(root.exporter.listen ?? EXPORTER_DEFAULTS.listen)].map((a) => ({ ...a })),
    },
  };
  return { config: deepFreeze(config), warnings: ctx.warnings };
}

function copyEngine(e: EngineDraft): TranscodeEngine {
  const pairs = (o: FfmpegOptions): FfmpegOptions => o.map(([k, v]): [string, string] => [k, v]);
  return { ...e, vfilter: pairs(e.vfilter), vparams: pairs(e.vparams), aparams: pairs(e.aparams), perfile: pairs(e.perfile) };
}

function copyHooks(h: HttpHooksConfig): HttpHooksConfig {
  return {
    enabled: h.enabled,
    timeout: h.timeout,
    onConnect: [...h.onConnect],
    onClose: [...h.onClose],
    onPublish: [...h.onPublish],
    onUnpublish: [...h.onUnpublish],
    onPlay: [...h.onPlay],
    onStop: [...h.onStop],
    onDvr: [...h.onDvr],
    onHls: [...h.onHls],
  };
}

function buildRefer(draft: VhostDraft): ReferConfig {
  const legacy = draft.legacyRefer;
  const hasLegacy = legacy.all !== undefined || legacy.play !== undefined || legacy.publish !== undefined;
  return {
    enabled: draft.refer.enabled || hasLegacy,
    all: [...(legacy.all ?? draft.refer.all ?? [])],
    publish: [...(legacy.publish ?? draft.refer.publish ?? [])],
    play: [...(legacy.play ?? draft.refer.play ?? [])],
  };
}

function formatAddress(a: ListenAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A Map that refuses changes once built (Object.freeze does not reach a Map's entries). */
class FrozenMap<K, V> extends Map<K, V> {
  private readonly sealed: boolean;

  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    this.sealed = true;
  }

  override set(key: K, value: V): this {
    if (this.sealed) throw new TypeError("the config is frozen");
    return super.set(key, value);
  }

  override delete(_key: K): boolean {
    throw new TypeError("the config is frozen");
  }

  override clear(): void {
    throw new TypeError("the config is frozen");
  }
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
  } else {
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return Object.freeze(value);
}
