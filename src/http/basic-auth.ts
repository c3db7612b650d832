/**
 * HTTP Basic authentication (RFC 7617) of a request against one user name and password,
 * as SRS's http_api { auth { } } (SrsHttpAuthMux) checks it.
 */
import { timingSafeEqual } from "node:crypto";

export type BasicAuthResult =
  /** The credentials match. */
  | "ok"
  /** No Authorization header. */
  | "missing"
  /** Not "Basic <base64 of user:password>". */
  | "malformed"
  /** Well formed, but another user or password. */
  | "wrong";

/** The user and password of an `Authorization: Basic ...` value, or null when it is not one. */
export function parseBasicAuth(header: string): { user: string; password: string } | null {
  // The scheme is case-insensitive (RFC 7235 2.1); SRS looks for "Basic ".
  const m = /^\s*basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!m) return null;
  const token = m[1]!;
  // Buffer.from(base64) ignores what does not decode: check the round trip instead.
  const bytes = Buffer.from(token, "base64");
  if (bytes.length === 0 || bytes.toString("base64").replace(/=+$/, "") !== token.replace(/=+$/, "")) return null;
  const text = bytes.toString("utf8");
  // The user name cannot contain ':', the password can (RFC 7617 2; SRS refuses a second ':').
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  // Compare in constant time (for equal lengths; the length itself is not a secret worth hiding).
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks an Authorization header value ("" when absent) against the configured credentials. */
export function checkBasicAuth(header: string, user: string, password: string): BasicAuthResult {
  if (header === "") return "missing";
  const creds = parseBasicAuth(header);
  if (!creds) return "malformed";
  // Both compared, always, so that the time does not say which one was wrong.
  const userOk = same(creds.user, user);
  const passwordOk = same(creds.password, password);
  return userOk && passwordOk ? "ok" : "wrong";
}
