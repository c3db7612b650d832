/**
 * JSON as SRS's API writes it (srs_protocol_json.cpp): compact, keys in insertion order,
 * and "number" (float) fields always with two decimals (`"alive":12.30`,
 * `"fragment":10.00`), which JSON.stringify cannot do. Which keys are floats is the
 * caller's table: the shapes are SRS's, and a key means the same thing wherever it is.
 * Also JSONP: `?callback=` names and the wrapped body.
 */

/** `value` as compact JSON; numbers under a key in `floatKeys` are written with "%.2f". */
export function toJson(value: unknown, floatKeys: ReadonlySet<string> = new Set()): string {
  return write(value, false, floatKeys);
}

function write(value: unknown, float: boolean, floatKeys: ReadonlySet<string>): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) return "null";
      return float ? value.toFixed(2) : String(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v) => write(v, false, floatKeys)).join(",")}]`;
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined || typeof v === "function") continue;
        parts.push(`${JSON.stringify(k)}:${write(v, floatKeys.has(k), floatKeys)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return "null";
  }
}

/** A JSONP callback name SRS accepts: [A-Za-z0-9_.-], not empty (ERROR_HTTP_JSONP otherwise). */
export function isJsonpCallback(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name);
}

/** `fn(<json>)`, the JSONP body (served as text/javascript). */
export function jsonpBody(callback: string, json: string): string {
  return `${callback}(${json})`;
}
