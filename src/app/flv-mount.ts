/**
 * Which stream an HTTP-FLV / WebSocket-FLV URL names, from each vhost's `http_remux {
 * mount; }` template, as SRS mounts it: [app] and [stream] are one path segment each;
 * for __defaultVhost__ a leading "[vhost]/" is dropped (/live/livestream.flv), and for a
 * named vhost "[vhost]/..." matches either the Host header (http://example.com/live/s.flv,
 * as SRS's host-aware mux) or the vhost as the first path segment (/example.com/live/s.flv).
 */
import { DEFAULT_VHOST, type SluiceConfig, type VhostConfig } from "../conf/config.js";

export interface FlvMountMatch {
  vhost: VhostConfig;
  app: string;
  stream: string;
}

interface Mount {
  vhost: VhostConfig;
  re: RegExp;
  /** Only when the Host header names this vhost. */
  hostOnly: boolean;
}

const compiled = new WeakMap<SluiceConfig, Mount[]>();

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|\\]/g, "\\$&");
}

function toRegExp(template: string, vhostName: string): RegExp {
  const parts = template.split(/(\[app\]|\[stream\]|\[vhost\])/);
  let src = "^/";
  for (const part of parts) {
    if (part === "[app]") src += "(?<app>[^/]+)";
    else if (part === "[stream]") src += "(?<stream>[^/]+?)";
    else if (part === "[vhost]") src += escape(vhostName);
    else src += escape(part);
  }
  return new RegExp(`${src}$`);
}

function mountsOf(config: SluiceConfig): Mount[] {
  let mounts = compiled.get(config);
  if (mounts) return mounts;
  const named: Mount[] = [];
  const fallback: Mount[] = [];
  for (const vhost of config.vhosts.values()) {
    if (!vhost.enabled || !vhost.httpRemux.enabled) continue;
    const tpl = vhost.httpRemux.mount.replace(/^\/+/, "");
    if (vhost.name === DEFAULT_VHOST) {
      fallback.push({ vhost, re: toRegExp(tpl.replace(/^\[vhost\]\//, ""), vhost.name), hostOnly: false });
      continue;
    }
    if (tpl.startsWith("[vhost]/")) named.push({ vhost, re: toRegExp(tpl.slice("[vhost]/".length), vhost.name), hostOnly: true });
    named.push({ vhost, re: toRegExp(tpl, vhost.name), hostOnly: !tpl.includes("[vhost]") });
  }
  mounts = [...named, ...fallback];
  compiled.set(config, mounts);
  return mounts;
}

/** The stream `path` (no query) names on `host` (the Host header, port allowed), or null. */
export function matchFlvMount(config: SluiceConfig, host: string, path: string): FlvMountMatch | null {
  const hostname = host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
  for (const m of mountsOf(config)) {
    if (m.hostOnly && hostname !== m.vhost.name.toLowerCase()) continue;
    const r = m.re.exec(path);
    if (!r?.groups) continue;
    const app = decodeSegment(r.groups["app"] ?? "");
    const stream = decodeSegment(r.groups["stream"] ?? "");
    if (app === null || stream === null || stream === "") continue;
    return { vhost: m.vhost, app, stream };
  }
  return null;
}

function decodeSegment(s: string): string | null {
  try {
    const d = decodeURIComponent(s);
    return d.includes("/") || d.includes("\0") ? null : d;
  } catch {
    return null;
  }
}
