import { SluiceError, type ErrorCode } from "../core/errors.js";

/** Where a directive, token or problem is in a config file; line and column count from 1. */
export interface ConfPosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type ConfErrorCode = Extract<
  ErrorCode,
  "ERR_CONF_SYNTAX" | "ERR_CONF_INCLUDE" | "ERR_CONF_UNKNOWN_DIRECTIVE" | "ERR_CONF_VALUE"
>;

/**
 * A config error: a SluiceError whose message starts with `file:line:column: ` and says what
 * was expected, and which also carries that position as fields for tools (an editor, the API).
 */
export class ConfError extends SluiceError {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(code: ConfErrorCode, at: ConfPosition, message: string, options?: { cause?: unknown }) {
    super(code, `${formatPosition(at)}: ${message}`, options);
    this.name = "ConfError";
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
  }
}

export function formatPosition(at: ConfPosition): string {
  return `${at.file}:${at.line}:${at.column}`;
}

/** A value as it appears in a message: quoted, escaped, and cut when long. */
export function quoteValue(value: string, max = 60): string {
  const shown = value.length > max ? `${value.slice(0, max)}...` : value;
  return JSON.stringify(shown);
}
