/**
 * SIGHUP reload: listeners and vhosts change while a player of an unaffected vhost keeps
 * playing without a gap; clients of a removed vhost are closed; an invalid file leaves the
 * running config in place.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { testMedia } from "../support/fixtures.js";
import { canConnect, freePort } from "../support/ports.js";
import { startServer, type RunningServer } from "../support/server.js";
import { publish, type Publisher } from "../support/clients.js";
import { watchVideo, type Watcher } from "../support/watch.js";
import { RtmpClient, parseRtmpUrl } from "../../src/protocol/rtmp/client-session.js";

const base = (port: number, dir: string, extra: string) =>
  `listen ${port};\ndaemon off;\npid ${dir}/sluice.pid;\nvhost __defaultVhost__ { }\nvhost keep.test { }\n${extra}\n`;

describe("reload on SIGHUP", () => {
  let server: RunningServer;
  let pub: Publisher;
  let watcher: Watcher;

  beforeAll(async () => {
    server = await startServer({ confText: base(0, "{{dir}}", "vhost gone.test { }").replace("listen 0;", "listen {{port}};") });
    pub = publish(await testMedia("h264-aac"), `rtmp://127.0.0.1:${server.port}/live?vhost=keep.test/cam`, { loop: true });
    await pub.ready;
    watcher = await watchVideo(`rtmp://127.0.0.1:${server.port}/live?vhost=keep.test/cam`);
  });

  afterAll(async () => {
    watcher?.close();
    await pub?.stop();
    await server?.stop();
  });

  async function reload(text: string, expectLog: RegExp): Promise<void> {
    await writeFile(server.confFile, text);
    const before = server.logs.length;
    server.process.kill("SIGHUP");
    const end = Date.now() + 5000;
    while (!server.logs.slice(before).some((l) => expectLog.test(l))) {
      if (Date.now() > end) throw new Error(`no ${expectLog} after SIGHUP:\n${server.logs.slice(before).join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("adds a listener, closes clients of a removed vhost, and keeps an unaffected player playing", async () => {
    const gone = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/live?vhost=gone.test/x`));
    await gone.connect();
    const goneClosed = new Promise<void>((r) => gone.once("close", () => r()));

    const extra = await freePort();
    const text = base(server.port, server.dir, "").replace(`listen ${server.port};`, `listen ${server.port} ${extra};`);
    await reload(text, /reload: done/);
    await goneClosed; // its vhost is gone
    expect(await canConnect(extra)).toBe(true);

    // Two more reloads: one that changes play settings of the watched vhost, one invalid.
    await reload(text.replace("vhost keep.test { }", "vhost keep.test { play { gop_cache off; } }"), /reload: done/);
    await reload(text + "\nthis_is_not_a_directive on;\n", /reload: .*still running on the previous config/);
    expect(await canConnect(extra)).toBe(true);
    await new Promise((r) => setTimeout(r, 2500));

    const a = watcher.arrivals;
    const worst = watcher.worstGaps(a.findIndex((t) => t > a[0]! + 1000));
    expect(a.length).toBeGreaterThan(50);
    expect(worst.arrivalMs).toBeLessThan(2000);
    expect(worst.timestampMs).toBeLessThan(80); // no frame lost (25 fps: 40 ms steps)
  });
});
