/** Option values the client tools share, checked with a message that says what was expected. */

/** Positive seconds from a command-line value; undefined when the option is absent. */
export function readSeconds(option: string, value: string | undefined): number | undefined | Error {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return new Error(`--${option} wants a positive number of seconds, not "${value}"`);
  return n;
}

/** --handshake complex|simple: whether to offer the complex handshake (the default). */
export function readHandshake(value: string | undefined): boolean | Error {
  if (value === undefined || value === "complex") return true;
  if (value === "simple") return false;
  return new Error(`--handshake is complex or simple, not "${value}"`);
}
