/** `srs_log_format json`: the Logger's records as pino JSON lines (src/core/json-log-sink.ts). */
import { afterEach, describe, expect, it, vi } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileSink, Logger, type LogLevel, type LogSink } from "../../../src/core/logger.js";
import { JsonLogSink } from "../../../src/core/json-log-sink.js";

function capture(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line) };
}

function jsonLogger(level: LogLevel = "verbose", utc = false): { logger: Logger; lines: string[] } {
  const sink = capture();
  const logger = new Logger();
  logger.configure({ level, utc, sink, format: "json" });
  return { logger, lines: sink.lines };
}

/** Parses one written chunk: exactly one line, ending in its only newline. */
function parse(line: string): Record<string, unknown> {
  expect(line.endsWith("\n")).toBe(true);
  expect(line.indexOf("\n")).toBe(line.length - 1);
  return JSON.parse(line) as Record<string, unknown>;
}

const LEVELS: [LogLevel, number][] = [
  ["verbose", 10],
  ["info", 20],
  ["trace", 30],
  ["warn", 40],
  ["error", 50],
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe("JSON log lines", () => {
  it.each(LEVELS)("writes SRS %s as pino level %d with srs_level, time, pid, cid and msg", (level, pinoLevel) => {
    const { logger, lines } = jsonLogger();
    const before = Date.now();
    logger[level](7, `a ${level} line`);
    const after = Date.now();
    expect(lines).toHaveLength(1);
    const rec = parse(lines[0]!);
    expect(rec).toMatchObject({ level: pinoLevel, srs_level: level, pid: process.pid, cid: 7, msg: `a ${level} line` });
    expect(typeof rec["time"]).toBe("number");
    expect(rec["time"]).toBeGreaterThanOrEqual(before);
    expect(rec["time"]).toBeLessThanOrEqual(after);
  });

  it("carries the context id as cid: 0 for the server, a connection's id otherwise", () => {
    const { logger, lines } = jsonLogger();
    for (const cid of [0, 1, 17, 123456789]) logger.trace(cid, "x");
    expect(lines.map((l) => parse(l)["cid"])).toEqual([0, 1, 17, 123456789]);
  });

  it("escapes quotes, backslashes, newlines and control characters, and keeps % verbatim", () => {
    const { logger, lines } = jsonLogger();
    const msgs = [
      'say "hi"',
      "two\nlines",
      "cr\rlf\r\n",
      "tab\there \\ back\\slash",
      "nul\u0000bell\u0007",
      "%s %d %j %o 100%",
      "unicode é 漢字 🎥",
      "",
    ];
    for (const m of msgs) logger.warn(3, m);
    expect(lines).toHaveLength(msgs.length);
    for (let i = 0; i < msgs.length; i++) {
      // No raw CR either: the line is one line for any reader that splits on \r or \n.
      expect(lines[i]!.slice(0, -1)).not.toMatch(/[\r\n]/);
      expect(parse(lines[i]!)["msg"]).toBe(msgs[i]);
    }
  });

  it("filters by SRS level before pino is reached", () => {
    const write = vi.spyOn(JsonLogSink.prototype, "write");
    const { logger, lines } = jsonLogger("warn");
    logger.verbose(1, "v");
    logger.info(1, "i");
    logger.trace(1, "t");
    expect(write).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    logger.warn(1, "w");
    logger.error(1, "e");
    expect(write).toHaveBeenCalledTimes(2);
    expect(lines.map((l) => parse(l)["srs_level"])).toEqual(["warn", "error"]);
  });

  it("follows a level change made later (a reload)", () => {
    const { logger, lines } = jsonLogger("trace");
    logger.info(0, "hidden");
    logger.configure({ level: "info" });
    logger.info(0, "shown");
    expect(lines.map((l) => parse(l)["msg"])).toEqual(["shown"]);
  });

  it("writes time as epoch milliseconds whatever utc_time says", () => {
    for (const utc of [false, true]) {
      const { logger, lines } = jsonLogger("trace", utc);
      const before = Date.now();
      logger.trace(0, "t");
      const after = Date.now();
      const time = parse(lines[0]!)["time"] as number;
      expect(Number.isInteger(time)).toBe(true);
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
    }
  });

  it("JsonLogSink can be used on its own over any line sink", () => {
    const sink = capture();
    const json = new JsonLogSink(sink);
    json.write("info", 42, "direct");
    expect(parse(sink.lines[0]!)).toMatchObject({ level: 20, srs_level: "info", cid: 42, msg: "direct" });
  });

  it("writes to the file tank synchronously: each line is in the file when the call returns", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-log-json-"));
    try {
      const file = path.join(dir, "srs.log");
      const logger = new Logger();
      logger.configure({ level: "trace", format: "json", sink: fileSink(file) });
      for (let i = 0; i < 5; i++) {
        logger.trace(i, `line ${i}`);
        const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
        expect(lines).toHaveLength(i + 1);
        expect(JSON.parse(lines[i]!)).toMatchObject({ cid: i, msg: `line ${i}`, srs_level: "trace" });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("text log lines (the default)", () => {
  const TEXT = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\]\[(Verb|Debug|Trace|Warn|Error)\]\[(\d+)\]\[(\d+)\] (.*)\n$/s;

  it("stay SRS text lines unless the format is json", () => {
    const sink = capture();
    const logger = new Logger();
    logger.configure({ level: "verbose", sink });
    logger.verbose(1, "v");
    logger.info(2, "i");
    logger.trace(3, 'say "hi"');
    logger.warn(4, "w");
    logger.error(5, "e");
    expect(sink.lines.map((l) => TEXT.exec(l)?.slice(1))).toEqual([
      ["Verb", String(process.pid), "1", "v"],
      ["Debug", String(process.pid), "2", "i"],
      ["Trace", String(process.pid), "3", 'say "hi"'],
      ["Warn", String(process.pid), "4", "w"],
      ["Error", String(process.pid), "5", "e"],
    ]);
  });

  it("come back when the format is set to text again", () => {
    const sink = capture();
    const logger = new Logger();
    logger.configure({ sink, format: "json" });
    logger.trace(0, "as json");
    logger.configure({ format: "text" });
    logger.trace(0, "as text");
    expect(parse(sink.lines[0]!)["msg"]).toBe("as json");
    expect(sink.lines[1]).toMatch(TEXT);
  });
});
