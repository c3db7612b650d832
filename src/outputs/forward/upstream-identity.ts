/**
 * Who a server-made RTMP connection comes from, and the dead-loop checks built on it.
 *
 * Every connect that a forwarder, an edge pull or an edge push makes carries, in its
 * command object (where our server reads it: ConnectRequest.commandObject):
 *   - `sluice_server`: the sender's server id (RtmpServer.serverId: the process's id);
 *   - `sluice_hops`: the ids of every Sluice server the stream passed through to get here,
 *     comma-separated, the sender last;
 *   - `sluice_rtmp_ports`: the sender's RTMP listen ports, comma-separated;
 * and, in connect's user arguments (the object after the command object), SRS's identity of
 * an upstream connection (srs_server, srs_version, srs_pid, srs_id), which an SRS origin
 * logs as "edge-srs" (srs_app_rtmp_conn.cpp).
 *
 * SRS's own loop checks are narrower: v1's forwarder compared its destination with the
 * publish's own host:port and vhost ("forward loop detected"), and its encoder refuses to
 * transcode a stream that a transcoder made (ERROR_ENCODER_LOOP). The hop list finds loops
 * through any number of servers: a server that sees its own id in a publish's or a play's
 * hops refuses it; a server about to forward a stream back to the server it came from (its
 * address and RTMP port) refuses to. See docs/forward.md, "Loops".
 */
import dns from "node:dns/promises";
import net from "node:net";
import os from "node:os";
import type { Amf0Object } from "../../protocol/rtmp/amf0.js";
import { VERSION } from "../../version.js";

/** A path longer than this is refused as a loop too (ids change when a server restarts). */
export const MAX_HOPS = 16;

export interface UpstreamIdentity {
  /** The sending server's id. */
  server: string;
  /** Ids of the servers the stream passed through, the sender last. */
  hops: string[];
  /** The sender's RTMP listen ports. */
  ports: number[];
}

function list(v: unknown): string[] {
  return typeof v === "string" && v.length > 0 ? v.split(",").filter((s) => s.length > 0) : [];
}

/** The identity in a connect command object, or null when a client (not a server) connected. */
export function identityOf(command: Amf0Object | undefined): UpstreamIdentity | null {
  if (!command) return null;
  const server = command["sluice_server"];
  if (typeof server !== "string" || server.length === 0) return null;
  const hops = list(command["sluice_hops"]);
  const ports = list(command["sluice_rtmp_ports"])
    .map(Number)
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  return { server, hops: hops.length > 0 ? hops : [server], ports };
}

/**
 * Why a stream that arrived with `incoming` would loop if this server took it, or null
 * when it would not: this server is already on its path, or the path is absurdly long.
 */
export function loopReason(incoming: UpstreamIdentity | null, selfId: string): string | null {
  if (!incoming) return null;
  if (incoming.hops.includes(selfId)) {
    return `dead loop: the stream already passed through this server (${selfId}); its path is ${incoming.hops.join(" -> ")}`;
  }
  if (incoming.hops.length >= MAX_HOPS) return `dead loop: the stream passed through ${incoming.hops.length} servers (${incoming.hops.join(" -> ")})`;
  return null;
}

/** What a connect of ours carries: the stream's path so far plus this server, and our ports. */
export function connectIdentity(
  incoming: UpstreamIdentity | null,
  rtmpPorts: readonly number[],
  selfId: string,
): { connectProperties: Amf0Object; connectArgs: Amf0Object } {
  const hops = [...(incoming?.hops ?? []), selfId];
  return {
    connectProperties: { sluice_server: selfId, sluice_hops: hops.join(","), sluice_rtmp_ports: rtmpPorts.join(",") },
    connectArgs: { srs_server: `Sluice/${VERSION}`, srs_version: VERSION, srs_pid: process.pid, srs_id: selfId },
  };
}

/** `HOST[:PORT]` (IPv6 in brackets) as config's forward destination and cluster origin write it. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(endpoint);
  if (!m) return { host: endpoint, port: 1935 };
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : 1935 };
}

function plainIp(ip: string): string {
  return ip.startsWith("::ffff:") && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function isLoopback(ip: string): boolean {
  const a = plainIp(ip);
  return a === "::1" || a.startsWith("127.");
}

/** The addresses `host` names (itself when it is an address); [] when it does not resolve. */
export async function addressesOf(host: string): Promise<string[]> {
  if (net.isIP(host)) return [plainIp(host)];
  try {
    return (await dns.lookup(host, { all: true })).map((a) => plainIp(a.address));
  } catch {
    return [];
  }
}

/** This machine's interface addresses (loopback included). */
function localAddresses(): Set<string> {
  const out = new Set<string>(["127.0.0.1", "::1"]);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(plainIp(a.address));
  return out;
}

/**
 * Whether `endpoint` reaches this server: its port is one we listen on (on every address,
 * or on the one it names) and its host is one of this machine's addresses.
 */
export async function isOwnEndpoint(endpoint: string, listen: readonly { host: string; port: number }[]): Promise<boolean> {
  const { host, port } = parseEndpoint(endpoint);
  const ours = listen.filter((l) => l.port === port);
  if (ours.length === 0) return false;
  const addrs = await addressesOf(host);
  const local = localAddresses();
  return addrs.some((a) =>
    ours.some((l) => {
      const lh = plainIp(l.host);
      if (lh === "0.0.0.0" || lh === "::" || lh === "") return local.has(a) || isLoopback(a);
      return lh === a || (isLoopback(lh) && isLoopback(a));
    }),
  );
}

/**
 * Whether `endpoint` reaches the server a stream came from: the sender connected from
 * `senderIp` and listens on `identity.ports`.
 */
export async function isSenderEndpoint(endpoint: string, senderIp: string, identity: UpstreamIdentity | null): Promise<boolean> {
  if (!identity || identity.ports.length === 0) return false;
  const { host, port } = parseEndpoint(endpoint);
  if (!identity.ports.includes(port)) return false;
  const sender = plainIp(senderIp);
  const addrs = await addressesOf(host);
  const local = localAddresses();
  return addrs.some((a) => a === sender || (isLoopback(a) && isLoopback(sender)) || (local.has(a) && local.has(sender)));
}
