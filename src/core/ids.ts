/**
 * Ids of what the API and hooks name. Clients: one sequence for every kind (RTMP
 * connections, HTTP-FLV and WebSocket-FLV players), so that an id in a log line, a hook's
 * client_id and the API's /clients/:id name one client. Streams, vhosts and the server:
 * SRS's "vid-" and seven characters of [0-9a-z], random per process.
 */
import { randomInt } from "node:crypto";

let next = 1;

export function nextClientId(): number {
  return next++;
}

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** `length` random characters of [0-9a-z] after `prefix`, e.g. randomId("vid-", 7). */
export function randomId(prefix: string, length: number): string {
  let s = prefix;
  for (let i = 0; i < length; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** This process's ids, as SRS's API envelope and hooks carry them: server and service. */
export const PROCESS_IDS: { readonly serverId: string; readonly serviceId: string } = Object.freeze({
  serverId: randomId("vid-", 7),
  serviceId: randomId("", 8),
});
