/** A byte range of a file, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Reads a `Range` header against a file of `size` bytes (RFC 9110 14.1.2). Only a single
 * range is served: "none" when there is no usable header (serve the whole file; several
 * ranges or another unit are also read as none, which RFC 9110 allows), "unsatisfiable"
 * for 416, or the range.
 */
export function parseRange(header: string, size: number): ByteRange | "none" | "unsatisfiable" {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return "none";
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return "none";
  if (first === "") {
    // Suffix: the last N bytes.
    const n = Number(last);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return "none";
  return { start, end };
}
