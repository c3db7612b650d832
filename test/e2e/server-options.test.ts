/**
 * Server options: publish { firstpkt_timeout; normal_timeout; } close a silent publisher,
 * pithy_print_ms prints per-stream and summary lines, tcp_nodelay and min_latency players
 * play, and utc_time changes only the log's clock.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testMedia } from "../support/fixtures.js";
import { startServer, type RunningServer } from "../support/server.js";
import { publish, type Publisher } from "../support/clients.js";
import { RtmpClient, parseRtmpUrl } from "../../src/protocol/rtmp/client-session.js";
import type { SluiceError } from "../../src/core/errors.js";

/** An SRS-style log line: [date time.ms][Level][pid][context] message. */
const LOG_LINE = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\]\[(Verb|Debug|Trace|Warn|Error)\]\[\d+\]\[\d+\] /;

function closed(client: RtmpClient): Promise<{ at: number; err: SluiceError | undefined }> {
  return new Promise((resolve) => client.once("close", (err) => resolve({ at: performance.now(), err })));
}

describe("publish timeouts, pithy print, tcp_nodelay and min_latency", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      conf: [
        "pithy_print_ms 1000;",
        "srs_log_level info;",
        "vhost quiet.test { publish { firstpkt_timeout 1500; normal_timeout 1000; } }",
        "vhost fast.test { tcp_nodelay on; min_latency on; }",
      ].join("\n"),
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("closes a publisher that sends no media within firstpkt_timeout, with one log line", async () => {
    const c = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/live?vhost=quiet.test/silent`));
    await c.connect();
    const id = await c.createStream();
    const done = closed(c);
    await c.publish(id);
    const start = performance.now();
    const { at } = await done;
    const elapsed = at - start;
    expect(elapsed).toBeGreaterThan(1400);
    expect(elapsed).toBeLessThan(3500);
    await server.waitForLog(/closed: ERR_RTMP_TIMEOUT publisher sent no media within firstpkt_timeout 1500 ms/);
    expect(server.logs.filter((l) => /ERR_RTMP_TIMEOUT.*firstpkt_timeout/.test(l))).toHaveLength(1);
    c.close();
  });

  it("closes a publisher that stops sending media for normal_timeout", async () => {
    const c = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/live?vhost=quiet.test/stalls`));
    await c.connect();
    const id = await c.createStream();
    const done = closed(c);
    await c.publish(id);
    // One AAC sequence header, then nothing.
    c.sendMessage(id, 8, 0, Buffer.from([0xaf, 0x00, 0x12, 0x10]));
    const start = performance.now();
    const { at } = await done;
    const elapsed = at - start;
    expect(elapsed).toBeGreaterThan(900);
    expect(elapsed).toBeLessThan(3000);
    await server.waitForLog(/closed: ERR_RTMP_TIMEOUT publisher sent no media for \d+ ms \(normal_timeout 1000 ms\)/);
    c.close();
  });

  it("prints a pithy line per stream and a summary every pithy_print_ms; tcp_nodelay/min_latency players play", async () => {
    const url = `rtmp://127.0.0.1:${server.port}/live?vhost=fast.test/cam`;
    const pub: Publisher = publish(await testMedia("h264-aac"), url, { loop: true });
    const player = new RtmpClient(parseRtmpUrl(url));
    try {
      await pub.ready;
      let frames = 0;
      player.on("media", (m) => {
        if (m.type === 9) frames++;
      });
      await player.connect();
      await player.play(await player.createStream());
      const from = server.logs.length;
      // Two intervals after the player joined, so the interval is wholly with media.
      await new Promise((r) => setTimeout(r, 2600));
      const lines = server.logs.slice(from);
      const streamLines = lines
        .map((l) => /pithy stream fast\.test\/live\/cam: publisher (\d+), players (\d+), in (\d+) kbps/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null);
      expect(streamLines.length, lines.join("\n")).toBeGreaterThanOrEqual(2);
      const last = streamLines[streamLines.length - 1]!;
      expect(Number(last[2])).toBe(1);
      expect(Number(last[3])).toBeGreaterThan(0);
      const summaries = lines
        .map((l) => /pithy summary: connections (\d+), streams (\d+), in (\d+) kbps, out (\d+) kbps/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null);
      expect(summaries.length).toBeGreaterThanOrEqual(2);
      const s = summaries[summaries.length - 1]!;
      expect(Number(s[1])).toBeGreaterThanOrEqual(2);
      expect(Number(s[2])).toBeGreaterThanOrEqual(1);
      expect(Number(s[4])).toBeGreaterThan(0);
      for (const l of lines.filter((x) => x.includes("pithy "))) expect(l).toMatch(LOG_LINE);
      // At srs_log_level info, a line per connection too: the player, with its kbps out.
      const clientLines = lines
        .map((l) => /pithy client 127\.0\.0\.1:\d+: play on fast\.test, in \d+ kbps, out (\d+) kbps, alive \d+s/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null);
      expect(clientLines.length).toBeGreaterThanOrEqual(1);
      expect(Number(clientLines[clientLines.length - 1]![1])).toBeGreaterThan(0);
      expect(frames).toBeGreaterThan(10);
    } finally {
      player.close();
      await pub.stop();
    }
  });
});

describe("utc_time", () => {
  let server: RunningServer;
  beforeAll(async () => {
    // A zone never at UTC's offset, so local and UTC times differ by 5.5 hours.
    server = await startServer({ conf: "utc_time on;", env: { TZ: "Asia/Kolkata" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("writes log times in UTC, in the same line format", async () => {
    const c = new RtmpClient(parseRtmpUrl(server.url("live", "s")));
    await c.connect();
    c.close();
    const line = await server.waitForLog(/rtmp .* connect tcUrl=/);
    const m = LOG_LINE.exec(line);
    expect(m, line).not.toBeNull();
    const [, y, mo, d, h, mi, s, ms] = m!.map(Number) as number[];
    const at = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
    expect(Math.abs(Date.now() - at)).toBeLessThan(60_000);
    expect(line).toMatch(/\]\[Trace\]\[\d+\]\[\d+\] rtmp /);
  });
});

describe("max_connections", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      confText: "listen {{port}};\ndaemon off;\nmax_connections 3;\npid {{dir}}/s.pid;\nvhost __defaultVhost__ { }\n",
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses the connection past max_connections at accept, logs it, and serves the others", async () => {
    const clients: RtmpClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = new RtmpClient(parseRtmpUrl(server.url("live", `s${i}`)));
      await c.connect();
      clients.push(c);
    }
    const extra = new RtmpClient(parseRtmpUrl(server.url("live", "x")));
    await expect(extra.connect()).rejects.toThrow();
    await server.waitForLog(/refused: max_connections 3 reached/, 3000);
    // The three admitted clients still work.
    for (const c of clients) expect(typeof (await c.createStream())).toBe("number");
    for (const c of clients) c.close();
    extra.close();
  });
});
