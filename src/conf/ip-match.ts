import { isIP } from "node:net";

/**
 * IP addresses and CIDR ranges as bytes, for security { allow|deny ... } rules: the config
 * checks a rule's value with parseIpMatch, and src/app/access.ts matches clients with
 * ipMatches. IPv4 and IPv6; an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as Node reports
 * IPv4 clients of a dual-stack listener) is read as the IPv4 address.
 */

export interface IpMatch {
  /** The network address, 4 or 16 bytes. */
  bytes: Uint8Array;
  /** Leading bits that must be equal: 32/128 for one address. */
  prefix: number;
}

/** 4 bytes for IPv4 (also IPv4-mapped IPv6), 16 for IPv6, undefined for anything else. */
export function ipBytes(ip: string): Uint8Array | undefined {
  const version = isIP(ip);
  if (version === 4) return Uint8Array.from(ip.split(".").map(Number));
  if (version !== 6) return undefined;
  let text = ip.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = text.slice(lastColon + 1).split(".").map(Number);
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, lastColon + 1) + "0";
    // "::ffff:1.2.3.4" became "::ffff:0": drop the placeholder group again below.
  }
  const halves = text.split("::");
  const groupsOf = (s: string): number[] => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  let head = groupsOf(halves[0]!);
  let rest = halves.length > 1 ? groupsOf(halves[1]!) : [];
  if (tail.length > 0) {
    if (halves.length > 1) rest = [...rest.slice(0, -1), ...tail];
    else head = [...head.slice(0, -1), ...tail];
  }
  const fill = 8 - head.length - rest.length;
  const groups = [...head, ...new Array<number>(Math.max(0, fill)).fill(0), ...rest];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/** An address ("10.0.0.1", "::1") or a CIDR ("10.0.0.0/8", "fd00::/8"); undefined if invalid. */
export function parseIpMatch(text: string): IpMatch | undefined {
  const slash = text.indexOf("/");
  const address = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = ipBytes(address);
  if (!bytes) return undefined;
  const bits = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: bits };
  const prefixText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  // An IPv4-mapped network written in IPv6 (::ffff:10.0.0.0/104) counts its IPv4 bits.
  const adjusted = bytes.length === 4 && isIP(address) === 6 ? prefix - 96 : prefix;
  if (adjusted < 0 || adjusted > bits) return undefined;
  return { bytes, prefix: adjusted };
}

/** Whether `ip` (a client address) is in `match`; an IPv4 client never matches an IPv6 range. */
export function ipMatches(match: IpMatch, ip: string): boolean {
  const bytes = ipBytes(ip);
  if (!bytes || bytes.length !== match.bytes.length) return false;
  let bits = match.prefix;
  for (let i = 0; i < bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (match.bytes[i]! & mask)) return false;
  }
  return true;
}
