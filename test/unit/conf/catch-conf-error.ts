import { expect } from "vitest";
import { ConfError } from "../../../src/conf/conf-error.js";
import { parseConfigText, type ConfigWarning } from "../../../src/conf/config.js";

/** Runs `fn`, which must throw a ConfError, and returns it. */
export function catchConfError(fn: () => unknown): ConfError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfError) return err;
    throw err;
  }
  throw new Error("expected a ConfError, nothing was thrown");
}

/** Parses `text` as the file conf/x.conf. */
export function load(text: string) {
  return parseConfigText(text, "conf/x.conf");
}

/** The warnings' messages. */
export function messages(warnings: ConfigWarning[]): string[] {
  return warnings.map((w) => w.message);
}

/** The message of the ERR_CONF_VALUE that `text` must raise. */
export function errorOf(text: string): string {
  const err = catchConfError(() => load(text));
  expect(err.code).toBe("ERR_CONF_VALUE");
  return err.message;
}
