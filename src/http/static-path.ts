import * as path from "node:path";

/**
 * Maps a request path (as received, percent-encoded, without the query) to a file under
 * `root`, or null when it must be refused (the caller answers 404). The path is decoded
 * exactly once; refused: bad percent-encoding, NUL, backslashes (raw or encoded), encoded
 * slashes (%2F: a segment holding a '/' has no file), and any `..` segment, whether written
 * plainly or encoded (%2e%2e). The result is checked to lie under `root` lexically; symlinks
 * leaving the root are the caller's check (realpath, see isInside).
 */
export function resolveStaticPath(root: string, rawPath: string): string | null {
  if (!rawPath.startsWith("/")) return null;
  if (/%2f|%5c/i.test(rawPath)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === "..")) return null;
  const base = path.resolve(root);
  const full = path.join(base, ...segments);
  return isInside(base, full) ? full : null;
}

/** Whether `file` is `root` itself or below it (both absolute and normalised). */
export function isInside(root: string, file: string): boolean {
  if (file === root) return true;
  const rel = path.relative(root, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}
