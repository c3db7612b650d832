/**
 * node-media-server (the devDependency, pinned), the JS RTMP server a Node user would pick
 * instead: its modules loaded from node_modules with types for the parts we run. It is
 * CommonJS, so it is loaded with createRequire. A module or function that this version does
 * not have is reported as missing, never replaced by something else.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/** The `header` of node-media-server's RtmpPacket. */
export interface NmsPacketHeader {
  fmt: number;
  cid: number;
  timestamp: number;
  length: number;
  type: number;
  stream_id: number;
}

export interface NmsPacket {
  header: NmsPacketHeader;
  clock: number;
  payload: Buffer | null;
  capacity: number;
  bytes: number;
}

/** The members of NodeRtmpSession (src/node_rtmp_session.js) the benchmarks touch. */
export interface NmsSession {
  handshakeState: number;
  inChunkSize: number;
  outChunkSize: number;
  ackSize: number;
  bitrateCache: { intervalMs: number; last_update: number; bytes: number };
  parserPacket: NmsPacket;
  onSocketData(data: Buffer): void;
  rtmpChunksCreate(packet: NmsPacket): Buffer;
  rtmpHandler(): unknown;
  rtmpControlHandler(): unknown;
}

export type NmsSessionClass = new (config: unknown, socket: unknown) => NmsSession;

export interface NmsAmf {
  decodeAmf0Cmd(buf: Buffer): Record<string, unknown>;
  encodeAmf0Cmd(opt: Record<string, unknown>): Buffer;
}

export interface NmsHandshake {
  /** Takes C1 (1536 bytes, without C0); returns S0+S1+S2. */
  generateS0S1S2(c1: Buffer): Buffer;
}

const PKG = "node-media-server";

function pkgDir(): string {
  return path.dirname(require.resolve(`${PKG}/package.json`));
}

/** "node-media-server 2.7.4", or why it cannot be loaded. */
export const nmsVersion: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(path.join(pkgDir(), "package.json"), "utf8")) as { version: string };
    return `${PKG} ${pkg.version}`;
  } catch {
    return `${PKG} (not installed)`;
  }
})();

/**
 * `require`s `file` (relative to the package) and returns its export `name` when it is a
 * function, or a sentence saying what is missing.
 */
export function nmsExport<T>(file: string, name: string | null): T | string {
  let mod: unknown;
  try {
    mod = require(path.join(pkgDir(), file));
  } catch (err) {
    return `${nmsVersion} has no ${file} (${(err as Error).message.split("\n")[0] ?? ""})`;
  }
  if (name === null) return mod as T;
  const value = (mod as Record<string, unknown>)[name];
  if (typeof value !== "function") return `${nmsVersion} has no function ${name} in ${file}`;
  return value as T;
}

/** The module's exports object when it has every function in `names`, else what is missing. */
export function nmsModule<T>(file: string, names: readonly string[]): T | string {
  const mod = nmsExport<Record<string, unknown>>(file, null);
  if (typeof mod === "string") return mod;
  for (const n of names) {
    if (typeof mod[n] !== "function") return `${nmsVersion} has no function ${n} in ${file}`;
  }
  return mod as T;
}

/** NodeRtmpSession with the methods the benchmarks call, or what is missing. */
export function nmsSessionClass(methods: readonly string[]): NmsSessionClass | string {
  const cls = nmsExport<NmsSessionClass>("src/node_rtmp_session.js", null);
  if (typeof cls === "string") return cls;
  if (typeof cls !== "function") return `${nmsVersion}: src/node_rtmp_session.js does not export a class`;
  const proto = (cls as unknown as { prototype: Record<string, unknown> }).prototype;
  for (const m of methods) {
    if (typeof proto[m] !== "function") return `${nmsVersion} has no NodeRtmpSession#${m}`;
  }
  return cls;
}

/**
 * A socket that is never connected: the session's constructor reads `remoteAddress`, and
 * its code may call write/on/setTimeout/destroy. Writes are dropped (counted), so that only
 * the session's own code runs.
 */
export function fakeSocket(): { remoteAddress: string; written: number; write(b: Buffer): boolean } & Record<string, unknown> {
  return {
    remoteAddress: "127.0.0.1",
    written: 0,
    write(b: Buffer): boolean {
      this.written += b.length;
      return true;
    },
    on(): void {},
    setTimeout(): void {},
    destroy(): void {},
    cork(): void {},
    uncork(): void {},
  };
}

/** The config NodeRtmpSession's constructor reads (node-media-server's README defaults). */
export function nmsConfig(chunkSize: number): unknown {
  return { rtmp: { port: 1935, chunk_size: chunkSize, gop_cache: false, ping: 30, ping_timeout: 60 } };
}

/** RTMP_HANDSHAKE_2 in src/node_rtmp_session.js: the handshake is over, bytes are chunks. */
export const NMS_HANDSHAKE_DONE = 3;
