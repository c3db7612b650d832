/**
 * Every directive SRS knows, and where: the names and nesting of SRS's trunk/conf/full.conf and
 * of the checks in trunk/src/app/srs_app_config.cpp (SrsConfig::check_normal_config, and
 * srs_config_transform_vhost for the older spellings it still reads), as of SRS 6 (2024), plus
 * SRS 1's pithy_print and bandcheck blocks, and rtmps, which SRS-CONF.md plans for Sluice.
 *
 * The config reader uses this tree to tell three cases apart: a directive Sluice implements
 * (read by a table in config.ts), one SRS knows that Sluice does not implement yet (a warning,
 * so that an SRS user's config starts), and one nobody knows (an error with a suggestion).
 * Only names and nesting live here; meanings and defaults live with the readers.
 */
export interface KnownDirective {
  /**
   * The directives a block holds, or "any" for a free-form key/value block (ffmpeg options
   * such as vfilter, vparams, aparams, perfile), whose children are never checked.
   * Absent for a plain directive. A directive with a block may also be written plain
   * (SRS's older `refer a.com;` and `forward host:port;`).
   */
  readonly block?: KnownBlock | "any";
  /** For an older spelling: the current form SRS reads it as, a path from the parent block. */
  readonly newForm?: string;
  /** SRS still accepts it but ignores it: the feature was removed. */
  readonly removed?: boolean;
}

export interface KnownBlock {
  readonly [name: string]: KnownDirective;
}

/** The entry for `name` in `block`; safe for names such as "constructor" or "__proto__". */
export function knownDirective(block: KnownBlock, name: string): KnownDirective | undefined {
  return Object.hasOwn(block, name) ? block[name] : undefined;
}

const PLAIN: KnownDirective = Object.freeze({});
const FREE_FORM: KnownDirective = Object.freeze({ block: "any" as const });

function plain(...names: string[]): Record<string, KnownDirective> {
  const out: Record<string, KnownDirective> = {};
  for (const name of names) out[name] = PLAIN;
  return out;
}

function block(children: Record<string, KnownDirective>): KnownDirective {
  return Object.freeze({ block: Object.freeze(children) });
}

function renamed(newForm: string, children?: Record<string, KnownDirective>): KnownDirective {
  return Object.freeze(children ? { newForm, block: Object.freeze(children) } : { newForm });
}

function removed(...names: string[]): Record<string, KnownDirective> {
  const out: Record<string, KnownDirective> = {};
  for (const name of names) out[name] = Object.freeze({ removed: true });
  return out;
}

const HTTPS = block(plain("enabled", "listen", "key", "cert"));

const HTTP_SERVER = {
  ...plain("enabled", "listen", "dir", "crossdomain"),
  https: HTTPS,
};

/** transcode { engine NAME { ... } } and ingest NAME { engine { ... } } share these. */
const ENGINE = block({
  ...plain(
    "enabled",
    "iformat",
    "vcodec",
    "vbitrate",
    "vfps",
    "vwidth",
    "vheight",
    "vthreads",
    "vprofile",
    "vpreset",
    "acodec",
    "abitrate",
    "asample_rate",
    "achannels",
    "oformat",
    "output",
  ),
  vfilter: FREE_FORM,
  vparams: FREE_FORM,
  aparams: FREE_FORM,
  perfile: FREE_FORM,
});

const PLAY = block(
  plain(
    "gop_cache",
    "gop_cache_max_frames",
    "queue_length",
    "time_jitter",
    "mix_correct",
    "atc",
    "atc_auto",
    "mw_latency",
    "mw_msgs",
    "send_min_interval",
    "reduce_sequence_header",
  ),
);

const PUBLISH = block(
  plain("mr", "mr_latency", "firstpkt_timeout", "normal_timeout", "parse_sps", "try_annexb_first", "kickoff_for_idle"),
);

const HTTP_STATIC = plain("enabled", "mount", "dir");

const VHOST = block({
  ...plain("enabled", "chunk_size", "min_latency", "tcp_nodelay", "in_ack_size", "out_ack_size"),
  play: PLAY,
  publish: PUBLISH,
  refer: block(plain("enabled", "all", "publish", "play")),
  security: block(plain("enabled", "allow", "deny")),
  forward: block(plain("enabled", "destination", "backend")),
  http_hooks: block(
    plain(
      "enabled",
      "on_connect",
      "on_close",
      "on_publish",
      "on_unpublish",
      "on_play",
      "on_stop",
      "on_dvr",
      "on_hls",
      "on_hls_notify",
      // Sluice's own: seconds a hook may take (SRS: fixed 30).
      "timeout",
    ),
  ),
  hls: block({
    ...plain(
      "enabled",
      "hls_fragment",
      "hls_td_ratio",
      "hls_aof_ratio",
      "hls_window",
      "hls_on_error",
      "hls_path",
      "hls_m3u8_file",
      "hls_ts_file",
      "hls_ts_floor",
      "hls_entry_prefix",
      "hls_acodec",
      "hls_vcodec",
      "hls_cleanup",
      "hls_dispose",
      "hls_wait_keyframe",
      "hls_nb_notify",
      "hls_keys",
      "hls_fragments_per_key",
      "hls_key_file",
      "hls_key_file_path",
      "hls_key_url",
      "hls_dts_directly",
      "hls_ctx",
      "hls_ts_ctx",
    ),
    // HLS in RAM, removed in SRS 3.
    ...removed("hls_storage", "hls_mount"),
  }),
  hds: block(plain("enabled", "hds_fragment", "hds_window", "hds_path")),
  http_remux: block({
    ...plain("enabled", "mount", "fast_cache", "drop_if_not_match", "has_audio", "has_video", "guess_has_av"),
    ...removed("hstrs"),
  }),
  http_static: block(HTTP_STATIC),
  dvr: block(
    plain("enabled", "dvr_apply", "dvr_plan", "dvr_path", "dvr_duration", "dvr_wait_keyframe", "time_jitter"),
  ),
  ingest: block({
    ...plain("enabled", "ffmpeg"),
    input: block(plain("type", "url")),
    engine: ENGINE,
  }),
  transcode: block({
    ...plain("enabled", "ffmpeg"),
    engine: ENGINE,
  }),
  cluster: block(
    plain(
      "mode",
      "origin",
      "token_traverse",
      "vhost",
      "debug_srs_upnode",
      "coworkers",
      "origin_cluster",
      "protocol",
      "follow_client",
    ),
  ),
  bandcheck: block(plain("enabled", "key", "interval", "limit_kbps")),
  exec: block(plain("enabled", "publish")),
  dash: block(
    plain(
      "enabled",
      "dash_fragment",
      "dash_update_period",
      "dash_timeshift",
      "dash_path",
      "dash_mpd_file",
      "dash_window_size",
      "dash_dispose",
      "dash_cleanup",
    ),
  ),
  rtc: block({
    ...plain(
      "enabled",
      "nack",
      "nack_no_copy",
      "twcc",
      "stun_timeout",
      "stun_strict_check",
      "dtls_role",
      "dtls_version",
      "drop_for_pt",
      "rtc_to_rtmp",
      "pli_for_rtmp",
      "rtmp_to_rtc",
      "keep_bframe",
      "keep_avc_nalu_sei",
      "opus_bitrate",
      "aac_bitrate",
    ),
    aac: renamed("rtmp_to_rtc"),
    bframe: renamed("keep_bframe"),
  }),
  srt: block(plain("enabled", "srt_to_rtmp")),

  // SRS 1-3 spellings at vhost level, which srs_config_transform_vhost moves into blocks.
  gop_cache: renamed("play.gop_cache"),
  gop_cache_max_frames: renamed("play.gop_cache_max_frames"),
  queue_length: renamed("play.queue_length"),
  time_jitter: renamed("play.time_jitter"),
  mix_correct: renamed("play.mix_correct"),
  atc: renamed("play.atc"),
  atc_auto: renamed("play.atc_auto"),
  mw_latency: renamed("play.mw_latency"),
  send_min_interval: renamed("play.send_min_interval"),
  reduce_sequence_header: renamed("play.reduce_sequence_header"),
  mr: renamed("publish.mr", plain("enabled", "latency")),
  // SRS-CONF.md lists mr_sleep among the older spellings moved into publish {}.
  mr_sleep: renamed("publish.mr_latency"),
  publish_1stpkt_timeout: renamed("publish.firstpkt_timeout"),
  publish_normal_timeout: renamed("publish.normal_timeout"),
  refer_play: renamed("refer.play"),
  refer_publish: renamed("refer.publish"),
  mode: renamed("cluster.mode"),
  origin: renamed("cluster.origin"),
  token_traverse: renamed("cluster.token_traverse"),
  vhost: renamed("cluster.vhost"),
  debug_srs_upnode: renamed("cluster.debug_srs_upnode"),
  http: renamed("http_static", HTTP_STATIC),
  nack: renamed("rtc.nack", plain("enabled", "no_copy")),
  twcc: renamed("rtc.twcc", plain("enabled")),
});

/** The top level of a config file. */
export const KNOWN_DIRECTIVES: KnownBlock = Object.freeze({
  ...plain(
    "listen",
    "pid",
    "chunk_size",
    "max_connections",
    "daemon",
    "srs_log_tank",
    "srs_log_level",
    "srs_log_level_v2",
    "srs_log_file",
    // Sluice's own: text (SRS's lines) or json (one JSON object a line, for log shippers).
    "srs_log_format",
    "ff_log_dir",
    "ff_log_level",
    "pithy_print_ms",
    "utc_time",
    "work_dir",
    "asprocess",
    "server_id",
    "grace_start_wait",
    "grace_final_wait",
    "force_grace_quit",
    "empty_ip_ok",
    "disable_daemon_for_docker",
    "inotify_auto_reload",
    "auto_reload_for_docker",
    "tcmalloc_release_rate",
    "query_latest_version",
    "first_wait_for_qlv",
    "is_full",
    "in_docker",
  ),
  vhost: VHOST,
  http_api: block({
    ...plain("enabled", "listen", "crossdomain"),
    raw_api: block(plain("enabled", "allow_reload", "allow_query", "allow_update")),
    auth: block(plain("enabled", "username", "password")),
    https: HTTPS,
  }),
  http_server: block(HTTP_SERVER),
  // SRS 1 named http_server this way.
  http_stream: renamed("http_server", HTTP_SERVER),
  // Planned by SRS-CONF.md (RTMP over TLS); not in SRS 6.
  rtmps: block(plain("enabled", "listen", "key", "cert")),
  rtc_server: block({
    ...plain(
      "enabled",
      "listen",
      "dir",
      "candidate",
      "ecdsa",
      "encrypt",
      "reuseport",
      "merge_nalus",
      "protocol",
      "ip_family",
      "api_as_candidates",
      "resolve_api_domain",
      "keep_api_domain",
      "use_auto_detect_network_ip",
    ),
    tcp: block(plain("enabled", "listen")),
    black_hole: block(plain("enabled", "addr")),
    // Removed in SRS 4.
    ...removed("perf_stat", "queue_length"),
  }),
  srt_server: block({
    ...plain(
      "enabled",
      "listen",
      "maxbw",
      "mss",
      "latency",
      "recvlatency",
      "peerlatency",
      "connect_timeout",
      "peer_idle_timeout",
      "sendbuf",
      "recvbuf",
      "payloadsize",
      "default_app",
      "sei_filter",
      "mix_correct",
      "tlpktdrop",
      "tsbpdmode",
      "passphrase",
      "pbkeylen",
    ),
    tlpkdrop: renamed("tlpktdrop"),
  }),
  stream_caster: block({
    ...plain("enabled", "caster", "output", "listen"),
    sip: block({
      ...plain("enabled", "listen", "timeout", "reinvite", "candidate"),
      // GB28181 options SRS 5 no longer uses.
      ...removed(
        "serial",
        "realm",
        "ack_timeout",
        "keepalive_timeout",
        "invite_port_fixed",
        "query_catalog_interval",
        "auto_play",
      ),
    }),
    host: renamed("sip.candidate"),
    ...removed(
      "tcp_enable",
      "rtp_port_min",
      "rtp_port_max",
      "wait_keyframe",
      "rtp_idle_timeout",
      "audio_enable",
      "auto_create_channel",
    ),
  }),
  heartbeat: block(plain("enabled", "interval", "url", "device_id", "summaries", "ports")),
  stats: block(plain("enabled", "network", "disk")),
  exporter: block(plain("enabled", "listen", "label", "tag")),
  circuit_breaker: block(
    plain(
      "enabled",
      "high_threshold",
      "high_pulse",
      "critical_threshold",
      "critical_pulse",
      "dying_threshold",
      "dying_pulse",
    ),
  ),
  threads: block(plain("interval")),
  // SRS 1's print intervals, replaced by pithy_print_ms in SRS 2.
  pithy_print: Object.freeze({
    removed: true,
    block: Object.freeze(plain("publish", "play", "forwarder", "encoder", "ingester", "hls", "edge")),
  }),
  tencentcloud_cls: block(
    plain(
      "enabled",
      "label",
      "tag",
      "secret_id",
      "secret_key",
      "endpoint",
      "topic_id",
      "debug_logging",
      "stat_heartbeat",
      "heartbeat_ratio",
      "stat_streams",
      "streams_ratio",
    ),
  ),
  tencentcloud_apm: block(plain("enabled", "team", "token", "endpoint", "service_name", "debug_logging")),
});

/** The block of `vhost NAME { }`. */
export const KNOWN_VHOST_DIRECTIVES: KnownBlock = VHOST.block as KnownBlock;

let placesIndex: Map<string, string[]> | undefined;

/**
 * Every block path where `name` is known ("" for the top level, "vhost.hls", ...), to tell
 * a user who put a directive in the wrong block where it belongs.
 */
export function placesOf(name: string): readonly string[] {
  if (!placesIndex) {
    const index = new Map<string, string[]>();
    const walk = (known: KnownBlock, at: string): void => {
      for (const [child, entry] of Object.entries(known)) {
        if (entry.newForm === undefined && !entry.removed) {
          const list = index.get(child) ?? [];
          list.push(at);
          index.set(child, list);
        }
        if (entry.block && entry.block !== "any" && entry.newForm === undefined) {
          walk(entry.block, at === "" ? child : `${at}.${child}`);
        }
      }
    };
    walk(KNOWN_DIRECTIVES, "");
    placesIndex = index;
  }
  return placesIndex.get(name) ?? [];
}
