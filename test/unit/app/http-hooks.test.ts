import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpHooks, isAllow, type HookOutcome } from "../../../src/app/http-hooks.js";

describe("isAllow (SRS's rule)", () => {
  it("allows 0 and a JSON object whose integer code is 0", () => {
    for (const body of ["0", "0\n", " 0 ", '{"code":0}', '{"code":0,"data":{"x":1}}', '{ "code" : 0 }']) expect(isAllow(body), body).toBe(true);
  });
  it("denies everything else", () => {
    for (const body of ["", "1", "ok", '"0"', "[0]", '{"code":"0"}', '{"code":0.5}', '{"code":1}', "{}", "null", '{"code":0', "00"]) {
      expect(isAllow(body), body).toBe(false);
    }
  });
});

describe("HttpHooks", () => {
  let server: http.Server;
  let base = "";
  const seen: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        if (req.headers["content-type"] !== "application/json") res.writeHead(400).end("no json");
        else if (req.url === "/big") res.writeHead(200).end("0".padEnd(100_000, " "));
        else if (req.url === "/created") res.writeHead(201).end("0");
        else if (req.url === "/deny") res.writeHead(200).end('{"code":403}');
        else res.writeHead(200).end(JSON.parse(body).action === "on_play" ? "0" : "1");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("calls the URLs in order and stops at the first denial, observing each call", async () => {
    const observed: [string, HookOutcome][] = [];
    const hooks = new HttpHooks((event, _s, outcome) => observed.push([event, outcome]));
    seen.length = 0;
    const d = await hooks.check("on_play", [`${base}/a`, `${base}/created`, `${base}/deny`, `${base}/never`], { action: "on_play" }, 5000, 1);
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/\/deny: answer "\{\\"code\\":403\}"/);
    expect(seen).toEqual(["/a", "/created", "/deny"]);
    expect(observed).toEqual([["on_play", "allow"], ["on_play", "allow"], ["on_play", "deny"]]);
  });

  it("denies an answer over 64 KiB and an unreachable URL", async () => {
    const hooks = new HttpHooks();
    expect((await hooks.check("on_publish", [`${base}/big`], { action: "on_publish" }, 5000, 1)).reason).toMatch(/longer than 65536 bytes/);
    expect((await hooks.check("on_publish", ["http://127.0.0.1:9/x"], {}, 5000, 1)).allowed).toBe(false);
  });

  it("notifies every URL without waiting", async () => {
    const hooks = new HttpHooks();
    seen.length = 0;
    hooks.notify("on_stop", [`${base}/n1`, `${base}/n2`], { action: "on_stop" }, 5000, 1);
    expect(seen).toEqual([]);
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(["/n1", "/n2"]);
  });
});
