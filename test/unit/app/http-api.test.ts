import { describe, it, expect } from "vitest";
import { ApiCode, HttpApi, page, routeOf, sharesHttpPort, type ApiRequest, type ApiStatistics, type ApiSystem } from "../../../src/app/http-api.js";
import type { ClientStat, StreamStat, VhostStat } from "../../../src/app/statistics.js";
import type { HttpApiConfig } from "../../../src/conf/config.js";
import { checkBasicAuth, parseBasicAuth } from "../../../src/http/basic-auth.js";
import { isJsonpCallback, toJson } from "../../../src/http/json-response.js";
import { VERSION } from "../../../src/version.js";

const VHOST: VhostStat = {
  id: "vid-vhost01",
  name: "__defaultVhost__",
  enabled: true,
  clients: 1,
  streams: 1,
  send_bytes: 10,
  recv_bytes: 20,
  kbps: { recv_30s: 1, send_30s: 2 },
  hls: { enabled: true, fragment: 10 },
};

function stream(i: number): StreamStat {
  return {
    id: `vid-s${String(i).padStart(6, "0")}`,
    name: `s${i}`,
    vhost: VHOST.id,
    app: "live",
    tcUrl: "rtmp://127.0.0.1/live",
    url: `/live/s${i}`,
    live_ms: 1,
    clients: 1,
    frames: 3,
    send_bytes: 0,
    recv_bytes: 100,
    kbps: { recv_30s: 0, send_30s: 0 },
    publish: { active: true, cid: String(i) },
    video: null,
    audio: null,
  };
}

function client(i: number): ClientStat {
  return {
    id: String(i),
    vhost: VHOST.id,
    stream: stream(i).id,
    ip: "127.0.0.1",
    pageUrl: "",
    swfUrl: "",
    tcUrl: "rtmp://127.0.0.1/live",
    url: `/live/s${i}`,
    name: `s${i}`,
    type: "fmle-publish",
    publish: true,
    alive: 1.5,
    send_bytes: 1,
    recv_bytes: 2,
    kbps: { recv_30s: 0, send_30s: 0 },
  };
}

function fakeStats(nStreams = 1): ApiStatistics & { kicked: string[] } {
  const streams = Array.from({ length: nStreams }, (_, i) => stream(i + 1));
  const clients = Array.from({ length: nStreams }, (_, i) => client(i + 1));
  const kicked: string[] = [];
  return {
    serverId: "vid-server1",
    serviceId: "service1",
    kicked,
    vhosts: () => [VHOST],
    vhost: (id) => (id === VHOST.id ? VHOST : undefined),
    streams: () => streams,
    stream: (id) => streams.find((s) => s.id === id),
    clients: () => clients,
    client: (id) => clients.find((c) => c.id === id),
    kick: (id) => {
      if (!clients.some((c) => c.id === id)) return "not-found";
      kicked.push(id);
      return "kicked";
    },
  } as ApiStatistics & { kicked: string[] };
}

const SYSTEM: ApiSystem = {
  summaries: () => ({ ok: true, self: { cpu_percent: 0.5 } }),
  rusages: () => ({ ok: true }),
  selfProcStats: () => ({ ok: true }),
  systemProcStats: () => ({ ok: true }),
  meminfos: () => ({ ok: true, percent_ram: 0.25 }),
};

function config(over: Partial<HttpApiConfig> = {}): HttpApiConfig {
  return {
    enabled: true,
    listen: [{ host: "0.0.0.0", port: 1985 }],
    crossdomain: true,
    auth: { enabled: false, username: "", password: "" },
    rawApi: { enabled: false, allowReload: false },
    ...over,
  };
}

function setup(over: Partial<HttpApiConfig> = {}, nStreams = 1) {
  const stats = fakeStats(nStreams);
  let reloads = 0;
  const api = new HttpApi(stats, SYSTEM, () => config(over), () => reloads++);
  const get = (url: string, more: Partial<ApiRequest> = {}) => {
    const [path, query = ""] = url.split("?");
    const answer = api.answer({ method: "get", url: path!, query, authorization: "", origin: "", requestHeaders: "", ...more });
    const header = (name: string) => answer.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const json = () => JSON.parse(answer.body) as Record<string, unknown>;
    return { ...answer, header, json };
  };
  return { api, stats, get, reloads: () => reloads };
}

describe("routeOf", () => {
  it("routes as SRS's mux: subtrees, longest match, and '/' for the rest", () => {
    expect(routeOf("/")).toEqual({ kind: "root" });
    expect(routeOf("/favicon.ico")).toEqual({ kind: "root" });
    expect(routeOf("/api/")).toEqual({ kind: "api" });
    expect(routeOf("/api/v2/x")).toEqual({ kind: "api" });
    expect(routeOf("/api/v1/")).toEqual({ kind: "v1" });
    expect(routeOf("/api/v1/requests")).toEqual({ kind: "v1" });
    expect(routeOf("/api/v1/versions")).toEqual({ kind: "versions" });
    expect(routeOf("/api/v1/versions/")).toEqual({ kind: "v1" });
    expect(routeOf("/api/v1/summaries")).toEqual({ kind: "summaries" });
    expect(routeOf("/api/v1/raw")).toEqual({ kind: "raw" });
  });

  it("serves the forms SRS redirects to (/api/v1/streams -> /api/v1/streams/) directly", () => {
    expect(routeOf("/api")).toEqual({ kind: "api" });
    expect(routeOf("/api/v1")).toEqual({ kind: "v1" });
    expect(routeOf("/api/v1/streams")).toEqual({ kind: "streams", id: "" });
    expect(routeOf("/api/v1/vhosts")).toEqual({ kind: "vhosts", id: "" });
    expect(routeOf("/api/v1/clients")).toEqual({ kind: "clients", id: "" });
  });

  it("takes the rest of a collection's path verbatim as the id", () => {
    expect(routeOf("/api/v1/streams/vid-abc")).toEqual({ kind: "streams", id: "vid-abc" });
    expect(routeOf("/api/v1/streams/vid-abc/")).toEqual({ kind: "streams", id: "vid-abc/" });
    expect(routeOf("/api/v1/clients/12")).toEqual({ kind: "clients", id: "12" });
  });
});

describe("page", () => {
  const items = Array.from({ length: 25 }, (_, i) => i);

  it("returns at least 10 from start, as SRS's max(10, count)", () => {
    expect(page(items, null, null)).toEqual(items.slice(0, 10));
    expect(page(items, null, "3")).toEqual(items.slice(0, 10));
    expect(page(items, "5", "12")).toEqual(items.slice(5, 17));
    expect(page(items, "20", "100")).toEqual(items.slice(20));
  });

  it("reads numbers as atoi does", () => {
    expect(page(items, "-4", "x")).toEqual(items.slice(0, 10));
    expect(page(items, "2abc", "15z")).toEqual(items.slice(2, 17));
  });
});

describe("toJson", () => {
  it("writes compact JSON in key order, floats with two decimals", () => {
    const keys = new Set(["alive", "fragment"]);
    expect(toJson({ code: 0, alive: 12.3456, n: 5, hls: { fragment: 10 }, v: null, s: 'a"b' }, keys)).toBe(
      '{"code":0,"alive":12.35,"n":5,"hls":{"fragment":10.00},"v":null,"s":"a\\"b"}',
    );
  });

  it("writes bigints whole and leaves undefined keys out", () => {
    expect(toJson({ a: 18446744073709551615n, b: undefined, c: [1, true] })).toBe('{"a":18446744073709551615,"c":[1,true]}');
  });
});

describe("JSONP callback names", () => {
  it("accepts [A-Za-z0-9_.-] only", () => {
    expect(isJsonpCallback("jQuery_1.2-3")).toBe(true);
    expect(isJsonpCallback("alert(1)")).toBe(false);
    expect(isJsonpCallback("a b")).toBe(false);
    expect(isJsonpCallback("")).toBe(false);
  });
});

describe("Basic auth", () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;

  it("parses user:password, the password may contain ':'", () => {
    expect(parseBasicAuth(basic("admin:secret"))).toEqual({ user: "admin", password: "secret" });
    expect(parseBasicAuth(basic("admin:a:b"))).toEqual({ user: "admin", password: "a:b" });
    expect(parseBasicAuth(`basic ${Buffer.from("u:").toString("base64")}`)).toEqual({ user: "u", password: "" });
  });

  it("refuses what is not Basic base64 of user:password", () => {
    expect(parseBasicAuth("Bearer abc")).toBeNull();
    expect(parseBasicAuth("Basic ")).toBeNull();
    expect(parseBasicAuth("Basic !!!")).toBeNull();
    expect(parseBasicAuth(basic("nocolon"))).toBeNull();
  });

  it("says missing, malformed, wrong or ok", () => {
    expect(checkBasicAuth("", "admin", "pw")).toBe("missing");
    expect(checkBasicAuth("Basic %%%", "admin", "pw")).toBe("malformed");
    expect(checkBasicAuth(basic("admin:nope"), "admin", "pw")).toBe("wrong");
    expect(checkBasicAuth(basic("root:pw"), "admin", "pw")).toBe("wrong");
    expect(checkBasicAuth(basic("admin:pw"), "admin", "pw")).toBe("ok");
  });
});

describe("HttpApi", () => {
  it("wraps every answer in SRS's envelope, pid as a string", () => {
    const { get } = setup();
    const r = get("/api/v1/versions");
    expect(r.status).toBe("200 OK");
    expect(r.header("Content-Type")).toBe("application/json");
    expect(r.header("Server")).toBe(`Sluice/${VERSION}`);
    const [major, minor, revision] = VERSION.split(".").map(Number);
    expect(r.json()).toEqual({
      code: 0,
      server: "vid-server1",
      service: "service1",
      pid: String(process.pid),
      data: { major, minor, revision, version: VERSION },
    });
    expect(r.body.startsWith('{"code":0,"server":"vid-server1","service":"service1","pid":"')).toBe(true);
  });

  it("answers the index of the nearest level for unknown paths", () => {
    const { get } = setup();
    expect(get("/nothing").json()["urls"]).toEqual({ api: "the api root" });
    expect(get("/api/zzz").json()["urls"]).toEqual({ v1: "the api version 1.0" });
    expect(Object.keys(get("/api/v1/zzz").json()["urls"] as object)).toContain("streams");
  });

  it("lists vhosts, streams and clients under plural keys and one under the singular key", () => {
    const { get } = setup();
    expect(get("/api/v1/vhosts/").json()["vhosts"]).toEqual([VHOST]);
    expect(get(`/api/v1/vhosts/${VHOST.id}`).json()["vhost"]).toEqual(VHOST);
    expect(get("/api/v1/streams").json()["streams"]).toEqual([stream(1)]);
    expect(get("/api/v1/streams/vid-s000001").json()["stream"]).toEqual(stream(1));
    expect(get("/api/v1/clients/").json()["clients"]).toEqual([client(1)]);
    expect(get("/api/v1/clients/1").json()["client"]).toEqual(client(1));
    // Floats as SRS writes them.
    expect(get("/api/v1/clients/1").body).toContain('"alive":1.50');
    expect(get("/api/v1/vhosts/").body).toContain('"fragment":10.00');
  });

  it("pages streams and clients with start and count", () => {
    const { get } = setup({}, 25);
    expect((get("/api/v1/streams/").json()["streams"] as unknown[]).length).toBe(10);
    const two = get("/api/v1/streams/?start=20&count=5").json()["streams"] as StreamStat[];
    expect(two.map((s) => s.name)).toEqual(["s21", "s22", "s23", "s24", "s25"]);
    expect((get("/api/v1/clients/?count=20").json()["clients"] as unknown[]).length).toBe(20);
  });

  it("gives SRS's codes for unknown ids, with HTTP 200 and nothing else", () => {
    const { get } = setup();
    expect([get("/api/v1/vhosts/nope").body, get("/api/v1/streams/nope").body, get("/api/v1/clients/nope").body]).toEqual([
      '{"code":2014}',
      '{"code":2048}',
      '{"code":2049}',
    ]);
    expect(get("/api/v1/streams/nope").status).toBe("200 OK");
  });

  it("kicks a client with DELETE or ?method=DELETE", () => {
    const { get, stats } = setup({}, 2);
    const r = get("/api/v1/clients/1", { method: "delete" });
    expect(r.json()).toMatchObject({ code: 0, server: "vid-server1" });
    expect(r.json()["client"]).toBeUndefined();
    expect(get("/api/v1/clients/2?method=DELETE&callback=cb").body).toMatch(/^cb\(\{"code":0,/);
    expect(stats.kicked).toEqual(["1", "2"]);
    expect(get("/api/v1/clients/9", { method: "delete" }).body).toBe('{"code":2049}');
    expect(get("/api/v1/clients/", { method: "delete" }).body).toBe('{"code":2049}');
  });

  it("answers 405 to other methods on the collections", () => {
    const { get } = setup();
    expect(get("/api/v1/streams/", { method: "post" }).status).toBe("405 Method Not Allowed");
    expect(get("/api/v1/vhosts/", { method: "delete" }).status).toBe("405 Method Not Allowed");
    expect(get("/api/v1/clients/1", { method: "put" }).status).toBe("405 Method Not Allowed");
    expect(get("/api/v1/summaries", { method: "post" }).status).toBe("200 OK");
  });

  it("serves the raw API in SRS's order of checks", () => {
    const off = setup();
    expect(off.get("/api/v1/raw?rpc=raw").json()).toEqual({
      code: 0,
      http_api: {
        enabled: true,
        listen: "1985",
        crossdomain: true,
        raw_api: { enabled: false, allow_reload: false, allow_query: false, allow_update: false },
      },
    });
    expect(off.get("/api/v1/raw?rpc=reload").body).toBe('{"code":1061}');
    expect(off.get("/api/v1/raw").body).toBe('{"code":1061}');
    const noReload = setup({ rawApi: { enabled: true, allowReload: false } });
    expect(noReload.get("/api/v1/raw").body).toBe('{"code":1060}');
    expect(noReload.get("/api/v1/raw?rpc=query").body).toBe('{"code":1060}');
    expect(noReload.get("/api/v1/raw?rpc=reload").body).toBe('{"code":1061}');
    expect(noReload.reloads()).toBe(0);
    const on = setup({ rawApi: { enabled: true, allowReload: true }, listen: [{ host: "127.0.0.1", port: 1985 }] });
    expect(on.get("/api/v1/raw?rpc=reload").body).toBe('{"code":0}');
    expect(on.reloads()).toBe(1);
    expect((on.get("/api/v1/raw?rpc=raw").json()["http_api"] as { listen: string }).listen).toBe("127.0.0.1:1985");
  });

  it("wraps JSONP and refuses bad callback names with 4058, closing", () => {
    const { get } = setup();
    const r = get("/api/v1/versions?callback=my_cb.1");
    expect(r.header("Content-Type")).toBe("text/javascript");
    expect(r.body).toMatch(/^my_cb\.1\(\{"code":0,.*\}\)$/);
    const bad = get("/api/v1/versions?callback=alert(1)");
    expect(bad.status).toBe("400 Bad Request");
    expect(bad.body).toBe('{"code":4058}');
    expect(bad.close).toBe(true);
  });

  it("refuses '..' in the URL with 4002, closing", () => {
    const { get } = setup();
    for (const url of ["/api/v1/../v1/streams", "/api/v1/%2e%2e/x"]) {
      const r = get(url);
      expect(r.body).toBe('{"code":4002}');
      expect(r.close).toBe(true);
    }
  });

  describe("with auth", () => {
    const auth = { auth: { enabled: true, username: "admin", password: "s3cret" } };
    const basic = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;

    it("answers 401 with WWW-Authenticate and no body without the right credentials", () => {
      const { get } = setup(auth);
      for (const authorization of ["", basic("admin:wrong"), basic("root:s3cret"), "Basic !!"]) {
        const r = get("/api/v1/streams/", { authorization });
        expect(r.status).toBe("401 Unauthorized");
        expect(r.header("WWW-Authenticate")).toBe("Basic");
        expect(r.body).toBe("");
      }
      expect(get("/api/v1/streams/", { authorization: basic("admin:s3cret") }).status).toBe("200 OK");
    });

    it("protects only paths with /api/, and lets a preflight through", () => {
      const { get } = setup(auth);
      expect(get("/").status).toBe("200 OK");
      expect(get("/api").status).toBe("200 OK");
      expect(get("/api/").status).toBe("401 Unauthorized");
      expect(get("/api/v1/streams/", { method: "options", origin: "http://a" }).status).toBe("200 OK");
    });
  });

  describe("CORS", () => {
    it("adds SRS's headers when the request has an Origin", () => {
      const { get } = setup();
      expect(get("/api/v1/streams/").header("Access-Control-Allow-Origin")).toBeUndefined();
      const r = get("/api/v1/streams/", { origin: "http://page.example" });
      expect(r.header("Access-Control-Allow-Origin")).toBe("*");
      expect(r.header("Access-Control-Allow-Methods")).toBe("*");
      expect(r.header("Access-Control-Allow-Headers")).toBe("*");
      expect(r.header("Access-Control-Expose-Headers")).toBe("*");
      expect(r.header("Access-Control-Allow-Credentials")).toBe("false");
    });

    it("answers a preflight with 200 and no body, echoing the requested headers", () => {
      const { get } = setup();
      const r = get("/api/v1/clients/1", { method: "options", origin: "http://a", requestHeaders: "authorization" });
      expect(r.status).toBe("200 OK");
      expect(r.body).toBe("");
      expect(r.header("Access-Control-Allow-Headers")).toBe("authorization");
    });

    it("answers 405 to OPTIONS and adds no headers when crossdomain is off", () => {
      const { get } = setup({ crossdomain: false });
      expect(get("/api/v1/streams/", { method: "options", origin: "http://a" }).status).toBe("405 Method Not Allowed");
      expect(get("/api/v1/streams/", { origin: "http://a" }).header("Access-Control-Allow-Origin")).toBeUndefined();
    });
  });

  it("serves the system figures under data", () => {
    const { get } = setup();
    expect(get("/api/v1/summaries").body).toContain('"data":{"ok":true,"self":{"cpu_percent":0.50}}');
    expect(get("/api/v1/meminfos").body).toContain('"percent_ram":0.25');
  });

  it("has error codes equal to SRS's", () => {
    expect(ApiCode).toMatchObject({ RAW: 1060, RAW_DISABLED: 1061, VHOST_NOT_FOUND: 2014, STREAM_NOT_FOUND: 2048, CLIENT_NOT_FOUND: 2049 });
  });
});

describe("sharesHttpPort", () => {
  const http = { enabled: true, listen: [{ host: "0.0.0.0", port: 8080 }], dir: ".", crossdomain: true };

  it("merges the API into http_server when it listens on the same addresses, as SRS >= 5", () => {
    expect(sharesHttpPort(config({ listen: [{ host: "0.0.0.0", port: 8080 }] }), http)).toBe(true);
    expect(sharesHttpPort(config({ listen: [{ host: "0.0.0.0", port: 1985 }] }), http)).toBe(false);
    expect(sharesHttpPort(config({ listen: [{ host: "0.0.0.0", port: 8080 }] }), { ...http, enabled: false })).toBe(false);
    expect(sharesHttpPort(config({ listen: [{ host: "0.0.0.0", port: 8080 }] }), undefined)).toBe(false);
  });
});
