/**
 * `srs_log_format json`: the real server writes one pino JSON object per line, to stdout and
 * to `srs_log_file`, from the first line (config warnings included) to the last one before
 * a graceful stop (SIGTERM) or a fast one (SIGQUIT, process.exit).
 */
import { afterEach, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { testMedia } from "../support/fixtures.js";
import { startServer, type RunningServer } from "../support/server.js";
import { publish, type Publisher } from "../support/clients.js";

const SRS_TO_PINO: Record<string, number> = { verbose: 10, info: 20, trace: 30, warn: 40, error: 50 };

function conf(extra: string[]): string {
  return [
    "listen {{port}};",
    "daemon off;",
    "pid {{dir}}/sluice.pid;",
    "srs_log_format json;",
    // Not implemented yet: logs a warning while the config is read, before the server runs.
    "rtc_server { enabled on; listen 8000; }",
    ...extra,
    "vhost __defaultVhost__ {",
    "}",
    "",
  ].join("\n");
}

/** Every line parses as a JSON object with the documented fields; returns the records. */
function records(lines: readonly string[], pid: number): Record<string, unknown>[] {
  return lines.map((line) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`not a JSON line: ${line}`);
    }
    expect(rec["pid"], line).toBe(pid);
    expect(Number.isInteger(rec["time"]), line).toBe(true);
    expect(Math.abs((rec["time"] as number) - Date.now()), line).toBeLessThan(120_000);
    expect(Number.isInteger(rec["cid"]), line).toBe(true);
    expect(typeof rec["msg"], line).toBe("string");
    expect(SRS_TO_PINO[rec["srs_level"] as string], line).toBe(rec["level"]);
    return rec;
  });
}

describe("srs_log_format json", () => {
  let server: RunningServer | undefined;
  let pub: Publisher | undefined;

  afterEach(async () => {
    await pub?.stop();
    await server?.stop();
    pub = undefined;
    server = undefined;
  });

  it("writes every console line as JSON, the publish line with its connection's cid, up to the graceful stop", async () => {
    const media = await testMedia("h264-aac");
    server = await startServer({ confText: conf(["srs_log_tank console;"]) });
    pub = publish(media, server.url("live", "json"));
    await pub.ready;
    const publishLine = await server.waitForLog(/"msg":"rtmp [^"]* publish __defaultVhost__\/live\/json\b/);
    await pub.stop();
    pub = undefined;
    await server.waitForLog(/"msg":"rtmp [^"]* unpublish __defaultVhost__\/live\/json"/);
    server.process.kill("SIGTERM");
    // The last line before exit: waitForLog also sees lines that arrive after the exit event.
    await server.waitForLog(/"msg":"stopped"/);
    expect((await server.exited).code).toBe(0);

    const recs = records(server.logs, server.pid);
    const pubRec = JSON.parse(publishLine) as Record<string, unknown>;
    expect(pubRec).toMatchObject({ level: 30, srs_level: "trace" });
    expect(pubRec["cid"]).toBeGreaterThan(0);
    expect(recs.some((r) => /rtc_server.*not implemented yet/.test(r["msg"] as string))).toBe(true);
    expect(recs.some((r) => /^sluice .* on node /.test(r["msg"] as string))).toBe(true);
    expect(recs.at(-1)?.["msg"]).toBe("stopped");
  });

  it("keeps the last console line before a fast stop (SIGQUIT, process.exit)", async () => {
    server = await startServer({ confText: conf(["srs_log_tank console;"]) });
    await server.waitForLog(/"msg":"rtmp listen at /);
    server.process.kill("SIGQUIT");
    await server.waitForLog(/"msg":"SIGQUIT: fast stop"/);
    expect((await server.exited).code).toBe(0);
    const recs = records(server.logs, server.pid);
    expect(recs.at(-1)?.["msg"]).toBe("SIGQUIT: fast stop");
  });

  it("writes JSON lines to srs_log_file, the last one before process.exit included", async () => {
    server = await startServer({ confText: conf(["srs_log_tank file;", "srs_log_file {{dir}}/log/srs.log;"]) });
    const file = path.join(server.dir, "log", "srs.log");
    server.process.kill("SIGQUIT");
    expect((await server.exited).code).toBe(0);
    const lines = (await readFile(file, "utf8")).split("\n");
    expect(lines.pop()).toBe(""); // ends with a newline
    const recs = records(lines, server.pid);
    expect(recs[0]?.["msg"]).toMatch(/^sluice .* on node /);
    expect(recs.some((r) => /^rtmp listen at /.test(r["msg"] as string))).toBe(true);
    expect(recs.at(-1)?.["msg"]).toBe("SIGQUIT: fast stop");
    // What reached stdout before the file was opened (the config warning) is JSON as well.
    records(server.logs, server.pid);
  });
});
