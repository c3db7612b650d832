import { parseArgs } from "node:util";
import { parseRtmpUrl, type RtmpUrl } from "../protocol/rtmp/client-session.js";
import { VERSION } from "../version.js";
import { ExitCode, messageOf } from "./exit-code.js";

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

/** What sluice-play and sluice-publish both take. */
export interface CommonToolArgs {
  url: RtmpUrl;
  seconds: number | undefined;
  timeoutSec: number;
  complexHandshake: boolean;
  quiet: boolean;
}

export interface ToolSpec {
  name: string;
  usage: string;
  /** The tool's own options, besides --seconds, --timeout, --handshake, --quiet, --help, --version. */
  options: Record<string, { type: "string" | "boolean"; short?: string }>;
  /** How many positional arguments, which one is the URL, and what to say when the count is wrong. */
  positionals: number;
  urlIndex: number;
  countError(n: number): string;
  defaultTimeoutSec: number;
  /** How the URL is read (default: an rtmp:// URL with an app and a stream). */
  parseUrl?: (text: string) => RtmpUrl;
}

/** A usage error on stderr: the message, the usage's first line, and how to get the rest. */
export function usageError(tool: Pick<ToolSpec, "name" | "usage">, text: string): number {
  process.stderr.write(`${tool.name}: ${text}\n${tool.usage.slice(0, tool.usage.indexOf("\n") + 1)}(${tool.name} --help for the options)\n`);
  return ExitCode.Usage;
}

/**
 * Parses a client tool's command line: its own options, the shared ones, its positionals
 * and the URL. Returns an exit code when it is done already (--help, --version, a usage
 * error, printed).
 */
export function parseToolArgs(
  tool: ToolSpec,
  argv: string[],
): { common: CommonToolArgs; values: Record<string, string | boolean | undefined>; positionals: string[] } | number {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...tool.options,
        seconds: { type: "string" },
        timeout: { type: "string" },
        handshake: { type: "string" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }));
  } catch (err) {
    return usageError(tool, messageOf(err));
  }
  if (values["help"]) {
    process.stdout.write(tool.usage);
    return ExitCode.Ok;
  }
  if (values["version"]) {
    process.stdout.write(`${VERSION}\n`);
    return ExitCode.Ok;
  }
  if (positionals.length !== tool.positionals) return usageError(tool, tool.countError(positionals.length));
  let url: RtmpUrl;
  try {
    url = (tool.parseUrl ?? parseRtmpUrl)(positionals[tool.urlIndex]!);
  } catch (err) {
    return usageError(tool, messageOf(err));
  }
  const seconds = readSeconds("seconds", values["seconds"] as string | undefined);
  const timeout = readSeconds("timeout", values["timeout"] as string | undefined);
  const complex = readHandshake(values["handshake"] as string | undefined);
  for (const v of [seconds, timeout, complex]) if (v instanceof Error) return usageError(tool, v.message);
  return {
    common: {
      url,
      seconds: seconds as number | undefined,
      timeoutSec: (timeout as number | undefined) ?? tool.defaultTimeoutSec,
      complexHandshake: complex as boolean,
      quiet: values["quiet"] === true,
    },
    values,
    positionals,
  };
}
