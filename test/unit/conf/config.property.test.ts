import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, it, expect } from "vitest";
import { parseConfigText, DEFAULT_VHOST } from "../../../src/conf/config.js";
import { ConfError } from "../../../src/conf/conf-error.js";
import { SluiceError } from "../../../src/core/errors.js";

// Includes in generated text resolve in an empty folder, so they read nothing of the machine's.
const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-conf-fuzz-"));
afterAll(() => fs.rmSync(emptyDir, { recursive: true, force: true }));

const CODES = ["ERR_CONF_SYNTAX", "ERR_CONF_INCLUDE", "ERR_CONF_UNKNOWN_DIRECTIVE", "ERR_CONF_VALUE"];

const TIME_LIMIT_MS = 100;

/**
 * Any input gives a config, or a ConfError with an ERR_CONF_* code and a position, quickly.
 * A slow run is timed twice more and the fastest counts, so that a GC pause or a busy machine
 * does not fail the test while a slow algorithm still does.
 */
function loadsOrFailsWell(text: string): void {
  let fastest = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3 && fastest >= TIME_LIMIT_MS; attempt++) {
    const t0 = performance.now();
    checkOutcome(text);
    fastest = Math.min(fastest, performance.now() - t0);
  }
  expect(fastest).toBeLessThan(TIME_LIMIT_MS);
}

function checkOutcome(text: string): void {
  try {
    const { config, warnings } = parseConfigText(text, "fuzz.conf", { cwd: emptyDir });
    expect(config.vhosts.has(DEFAULT_VHOST)).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
    for (const w of warnings) expect(w.message.startsWith(`${w.file}:${w.line}:${w.column}: `)).toBe(true);
  } catch (err) {
    if (!(err instanceof SluiceError)) throw err;
    expect(err).toBeInstanceOf(ConfError);
    const conf = err as ConfError;
    expect(CODES).toContain(conf.code);
    expect(conf.line).toBeGreaterThanOrEqual(1);
    expect(conf.column).toBeGreaterThanOrEqual(1);
    expect(conf.message.startsWith(`${conf.file}:${conf.line}:${conf.column}: `)).toBe(true);
  }
}

const FRAGMENTS = [
  "listen", "1935", "127.0.0.1:1935", "[::1]:1935", "chunk_size", "60000", "128", "daemon", "on", "off",
  "vhost", "__defaultVhost__", "a.com", "play", "gop_cache", "queue_length", "time_jitter", "full",
  "mw_msgs", "500", "hls", "enabled", "transcode", "engine", "vfilter", "include", "x.conf", "pid",
  "srs_log_level", "trace", "constructor", "__proto__", ";", "{", "}", "#", "\"", "'", "\\", "\\\"",
  " ", " ", "\t", "\n", "\r\n", "", "\u0000", "é", "\ufeff",
];

const tokenSoup = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 120 }).map((parts) => parts.join(""));

const VALID = [
  fs.readFileSync("test/fixtures/conf/origin.conf", "utf8"),
  fs.readFileSync("test/fixtures/conf/legacy-srs1.conf", "utf8"),
  [
    "listen 1935 127.0.0.1:19350;",
    "chunk_size 4096;",
    "srs_log_tank file;",
    "vhost __defaultVhost__ {",
    "    chunk_size 128;",
    "    play { gop_cache off; queue_length 10; time_jitter zero; mw_latency 100; mw_msgs 4; }",
    "    transcode live { engine sd { vfilter { vf 'crop=1:2; #x'; } vparams { t 100; } } }",
    "}",
    'vhost b { enabled off; http_hooks { on_play "http://x/a b"; } }',
  ].join("\n"),
];

type Mutation =
  | { kind: "delete"; at: number; length: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "duplicate"; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
);

function mutate(text: string, mutations: Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === "delete") out = out.slice(0, at) + out.slice(at + m.length);
    else if (m.kind === "insert") out = out.slice(0, at) + m.text + out.slice(at);
    else out = out.slice(0, at) + out.slice(at, at + m.length) + out.slice(at);
  }
  return out;
}

describe("any input loads or fails with a positioned ERR_CONF_* error, quickly", () => {
  it("random text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), loadsOrFailsWell), { numRuns: 1500 });
  });

  it("random sequences of the dialect's words and punctuation", () => {
    fc.assert(fc.property(tokenSoup, loadsOrFailsWell), { numRuns: 3000 });
  });

  it("mutations of valid configs", () => {
    const base = fc.constantFrom(...VALID);
    fc.assert(
      fc.property(base, fc.array(mutation, { minLength: 1, maxLength: 6 }), (text, ms) => loadsOrFailsWell(mutate(text, ms))),
      { numRuns: 3000 },
    );
  });

  it("the valid configs themselves load", () => {
    for (const text of VALID) expect(() => parseConfigText(text, "fuzz.conf", { cwd: emptyDir })).not.toThrow();
  });

  it("hostile shapes: deep nesting, long lines, many quotes, many blocks", () => {
    loadsOrFailsWell("a{".repeat(100_000));
    loadsOrFailsWell("vhost v {".repeat(40) + "}".repeat(40));
    loadsOrFailsWell("}".repeat(100_000));
    loadsOrFailsWell("listen " + "1".repeat(1_000_000) + ";");
    loadsOrFailsWell('"'.repeat(100_000));
    loadsOrFailsWell(`${"x".repeat(100_000)} 1;`);
    loadsOrFailsWell("vhost a { play { } }\n".repeat(1) + "hls { }\n".repeat(20_000));
  });
});
