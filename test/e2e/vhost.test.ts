/** Vhosts: chosen by tcUrl host or ?vhost=, separate streams, per-vhost settings, enabled off. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../support/server.js";
import { RtmpClient, parseRtmpUrl } from "../../src/protocol/rtmp/client-session.js";

describe("vhosts", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      conf: ["vhost small.test { chunk_size 4096; }", "vhost closed.test { enabled off; }"].join("\n"),
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("announces the vhost's chunk_size, and the server's elsewhere", async () => {
    const a = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/live?vhost=small.test/s`));
    await a.connect();
    expect(a.serverChunkSize).toBe(4096);
    a.close();
    const b = new RtmpClient(parseRtmpUrl(server.url("live", "s")));
    await b.connect();
    expect(b.serverChunkSize).toBe(60000);
    b.close();
  });

  it("refuses clients of a vhost with enabled off", async () => {
    const c = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/live?vhost=closed.test/s`));
    await expect(c.connect()).rejects.toThrow(/NetConnection.Connect.Rejected/);
    c.close();
  });

  it("keeps streams of the same app/name in two vhosts apart", async () => {
    const pub = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/live?vhost=small.test/same`));
    await pub.connect();
    const pid = await pub.createStream();
    await pub.publish(pid);
    // The same name on the default vhost is another stream: a second publisher is welcome.
    const other = new RtmpClient(parseRtmpUrl(server.url("live", "same")));
    await other.connect();
    await other.publish(await other.createStream());
    // And on small.test it is taken.
    const third = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${server.port}/live?vhost=small.test/same`));
    await third.connect();
    await expect(third.publish(await third.createStream())).rejects.toThrow(/BadName/);
    for (const c of [pub, other, third]) c.close();
  });
});
