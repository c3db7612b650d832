/** refer (pageUrl domains) and security (client IP rules) refuse publish and play as SRS. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../support/server.js";
import { RtmpClient, parseRtmpUrl } from "../../src/protocol/rtmp/client-session.js";

async function publish(url: string, pageUrl?: string): Promise<RtmpClient> {
  const c = new RtmpClient(parseRtmpUrl(url), { pageUrl });
  try {
    await c.connect();
    await c.publish(await c.createStream());
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}

async function play(url: string, pageUrl?: string): Promise<RtmpClient> {
  const c = new RtmpClient(parseRtmpUrl(url), { pageUrl });
  try {
    await c.connect();
    await c.play(await c.createStream());
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}

describe("access: refer and security", () => {
  let server: RunningServer;
  const url = (vhost: string, stream: string) => `rtmp://127.0.0.1:${server.port}/live?vhost=${vhost}/${stream}`;

  beforeAll(async () => {
    server = await startServer({
      conf: [
        "vhost refer.test { refer { enabled on; all example.com; publish pub.example.com; play example.com; } }",
        "vhost legacy.test { refer_play example.com; }",
        "vhost nopub.test { security { enabled on; allow play all; deny publish 127.0.0.1; allow publish all; } }",
        "vhost noplay.test { security { enabled on; deny play 127.0.0.0/8; } }",
      ].join("\n"),
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("refer: allows a matching pageUrl and refuses others, for publish", async () => {
    const ok = await publish(url("refer.test", "a"), "http://pub.example.com/page.html");
    ok.close();
    await expect(publish(url("refer.test", "b"), "http://www.example.com/")).rejects.toThrow(/NetStream\.Publish\.Rejected/);
    await expect(publish(url("refer.test", "c"), "http://evil.net/")).rejects.toThrow(/NetStream\.Publish\.Rejected/);
    await expect(publish(url("refer.test", "d"))).rejects.toThrow(/NetStream\.Publish\.Rejected/);
    await server.waitForLog(/publish refer\.test\/live\/b refused: refer publish pub\.example\.com/);
  });

  it("refer: allows a matching pageUrl and refuses others, for play", async () => {
    const ok = await play(url("refer.test", "p"), "https://www.example.com:8443/x");
    ok.close();
    await expect(play(url("refer.test", "q"), "http://example.org/")).rejects.toThrow(/NetStream\.Play\.Rejected/);
    await expect(play(url("legacy.test", "q"), "http://example.org/")).rejects.toThrow(/NetStream\.Play\.Rejected/);
    const legacy = await play(url("legacy.test", "r"), "http://live.example.com/");
    legacy.close();
    await server.waitForLog(/play refer\.test\/live\/q refused: refer all example\.com/);
  });

  it("security: deny publish 127.0.0.1 refuses a publish while play works", async () => {
    await expect(publish(url("nopub.test", "s"))).rejects.toThrow(/NetStream\.Publish\.Rejected/);
    await server.waitForLog(/publish nopub\.test\/live\/s refused: denied by security rule "deny publish 127\.0\.0\.1"/);
    const p = await play(url("nopub.test", "s"));
    p.close();
  });

  it("security: deny play by CIDR refuses a play while publish works", async () => {
    await expect(play(url("noplay.test", "t"))).rejects.toThrow(/NetStream\.Play\.Rejected/);
    const pub = await publish(url("noplay.test", "t"));
    pub.close();
    // Other vhosts are unaffected.
    const other = await play(server.url("live", "t"));
    other.close();
  });
});
