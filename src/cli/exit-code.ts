/**
 * The client tools' exit codes (docs/client.md) and how an error maps to one: scripts can
 * tell "the server said no" from "the network failed" from "you typed it wrong".
 */
import { errorCode } from "../core/errors.js";

export const ExitCode = {
  /** A clean end: the file or the duration is done, the stream ended, or a signal asked us to stop. */
  Ok: 0,
  /** The connection failed: refused, reset, closed by the server, timed out, bad bytes. */
  Failed: 1,
  /** Bad arguments: an unknown option, a bad URL, a missing or non-FLV input file, an unwritable output. */
  Usage: 2,
  /** The server refused: connect `_error`, or an error onStatus (Play.Rejected, Publish.BadName...). */
  Rejected: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Errors of the file system that mean the path given on the command line is wrong. */
const PATH_ERRORS = new Set(["ENOENT", "EACCES", "EISDIR", "ENOTDIR", "EROFS", "EPERM"]);

export function exitCodeFor(err: unknown): ExitCode {
  const code = errorCode(err) ?? (err && typeof err === "object" && "code" in err ? String((err as { code: unknown }).code) : undefined);
  if (code === "ERR_RTMP_COMMAND") return ExitCode.Rejected;
  if (code === "ERR_FLV_FORMAT" || (code !== undefined && PATH_ERRORS.has(code))) return ExitCode.Usage;
  return ExitCode.Failed;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
