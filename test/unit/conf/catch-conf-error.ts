import { ConfError } from "../../../src/conf/conf-error.js";

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
