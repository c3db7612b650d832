/**
 * http_server { }: static files from `dir` over uWebSockets.js: GET, HEAD, Range (206/416),
 * content types, Cache-Control, CORS and preflight, 404 for missing files and for every
 * way out of the root (raw requests, so that nothing normalises the path on the way).
 */
import { mkdir, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../support/server.js";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One request on its own connection, the path sent exactly as given. */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.on("connect", () => socket.write(`${lines.join("\r\n")}\r\n\r\n`));
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${method} ${target}: ${JSON.stringify(data.toString("latin1").slice(0, 300))}`));
    }, 5000);
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine = "", ...headerLines] = data.subarray(0, end).toString("latin1").split("\r\n");
      const res: RawResponse = { status: Number(statusLine.split(" ")[1]), headers: {}, body: Buffer.alloc(0) };
      for (const h of headerLines) {
        const i = h.indexOf(":");
        res.headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
      }
      const length = method === "HEAD" || res.status === 204 ? 0 : Number(res.headers["content-length"] ?? 0);
      if (data.length - end - 4 < length) return;
      res.body = data.subarray(end + 4, end + 4 + length);
      clearTimeout(timer);
      socket.destroy();
      resolve(res);
    });
  });
}

describe("http_server static files", () => {
  let server: RunningServer;
  let port: number;
  const big = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;

  beforeAll(async () => {
    server = await startServer({
      conf: "http_server { enabled on; listen 127.0.0.1:{{port:http}}; dir {{dir}}/www; crossdomain on; }",
    });
    port = server.ports.http!;
    const www = path.join(server.dir, "www");
    await mkdir(path.join(www, "live"), { recursive: true });
    await writeFile(path.join(www, "index.html"), "<h1>sluice</h1>\n");
    await writeFile(path.join(www, "hello.txt"), "0123456789abcdefghij");
    await writeFile(path.join(www, "live", "s.m3u8"), "#EXTM3U\n");
    await writeFile(path.join(www, "live", "s-1.ts"), Buffer.alloc(188 * 4, 0x47));
    await writeFile(path.join(www, "a.flv"), "FLV");
    await writeFile(path.join(www, "app.js"), "1;");
    await writeFile(path.join(www, "x.css"), "a{}");
    await writeFile(path.join(www, "d.json"), "{}");
    await writeFile(path.join(www, "v.mp4"), "mp4");
    await writeFile(path.join(www, "big.bin"), big);
    await writeFile(path.join(server.dir, "secret.txt"), "secret");
    await symlink(path.join(server.dir, "secret.txt"), path.join(www, "escape.txt"));
    await symlink(path.join(www, "hello.txt"), path.join(www, "inside.txt"));
    await server.waitForLog(/http listen at/);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("GET serves a file with its type, length, and cache policy", async () => {
    const res = await raw(port, "GET", "/hello.txt");
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("0123456789abcdefghij");
    expect(res.headers["content-length"]).toBe("20");
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.headers["accept-ranges"]).toBe("bytes");
    expect(res.headers["cache-control"]).toMatch(/max-age=\d+/);
  });

  it("serves index.html for / and a symlink that stays inside the root", async () => {
    const index = await raw(port, "GET", "/");
    expect(index.status).toBe(200);
    expect(index.body.toString()).toBe("<h1>sluice</h1>\n");
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect((await raw(port, "GET", "/inside.txt")).body.toString()).toBe("0123456789abcdefghij");
  });

  it.each([
    ["/live/s.m3u8", "application/vnd.apple.mpegurl", "no-cache"],
    ["/live/s-1.ts", "video/mp2t", undefined],
    ["/a.flv", "video/x-flv", undefined],
    ["/app.js", "text/javascript", undefined],
    ["/x.css", "text/css", undefined],
    ["/d.json", "application/json", undefined],
    ["/v.mp4", "video/mp4", undefined],
  ])("content type of %s", async (url, type, cache) => {
    const res = await raw(port, "GET", url);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]!.startsWith(type)).toBe(true);
    if (cache) expect(res.headers["cache-control"]).toBe(cache);
    else expect(res.headers["cache-control"]).not.toBe("no-cache");
  });

  it("HEAD answers the headers and the length without a body", async () => {
    const res = await raw(port, "HEAD", "/hello.txt");
    expect(res.status).toBe(200);
    expect(res.headers["content-length"]).toBe("20");
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  });

  it("Range: 206 with Content-Range, 416 when unsatisfiable", async () => {
    const part = await raw(port, "GET", "/hello.txt", { Range: "bytes=5-9" });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe("bytes 5-9/20");
    expect(part.body.toString()).toBe("56789");
    const suffix = await raw(port, "GET", "/hello.txt", { Range: "bytes=-3" });
    expect(suffix.status).toBe(206);
    expect(suffix.body.toString()).toBe("hij");
    const bad = await raw(port, "GET", "/hello.txt", { Range: "bytes=100-" });
    expect(bad.status).toBe(416);
    expect(bad.headers["content-range"]).toBe("bytes */20");
  });

  it("streams a large file whole and in ranges", async () => {
    const whole = await raw(port, "GET", "/big.bin");
    expect(whole.status).toBe(200);
    expect(whole.body.equals(big)).toBe(true);
    const start = 1024 * 1024 - 5;
    const end = start + 2 * 1024 * 1024;
    const part = await raw(port, "GET", "/big.bin", { Range: `bytes=${start}-${end}` });
    expect(part.status).toBe(206);
    expect(part.body.equals(big.subarray(start, end + 1))).toBe(true);
  });

  it("CORS headers when crossdomain is on, and OPTIONS preflight", async () => {
    const res = await raw(port, "GET", "/hello.txt", { Origin: "http://example.com" });
    expect(res.headers["access-control-allow-origin"]).toBe("*");
    const pre = await raw(port, "OPTIONS", "/live/s.m3u8", {
      Origin: "http://example.com",
      "Access-Control-Request-Method": "GET",
      "Access-Control-Request-Headers": "range",
    });
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("*");
    expect(pre.headers["access-control-allow-methods"]).toMatch(/GET/);
    expect(pre.headers["access-control-allow-headers"]).toBe("range");
  });

  it("404 for a missing file; 405 for other methods", async () => {
    expect((await raw(port, "GET", "/nope.txt")).status).toBe(404);
    expect((await raw(port, "GET", "/live/")).status).toBe(404);
    expect((await raw(port, "POST", "/hello.txt", { "Content-Length": "0" })).status).toBe(405);
  });

  it.each([
    "/../secret.txt",
    "/live/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/live/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/live%2f..%2f..%2fsecret.txt",
    "/..\\secret.txt",
    "/%5c..%5csecret.txt",
    "/hello.txt%00.html",
    "/escape.txt",
    `/..${"/..".repeat(20)}/etc/passwd`,
  ])("404 for %j", async (target) => {
    const res = await raw(port, "GET", target);
    expect(res.status).toBe(404);
    expect(res.body.toString()).not.toContain("secret");
  });
});
