import { describe, it, expect } from "vitest";
import {
  KNOWN_DIRECTIVES,
  KNOWN_VHOST_DIRECTIVES,
  knownDirective,
  placesOf,
  type KnownBlock,
} from "../../../src/conf/known-directives.js";
import { editDistance, nearestName } from "../../../src/conf/nearest-name.js";

function blockAt(path: string): KnownBlock | "any" | undefined {
  let block: KnownBlock | "any" | undefined = KNOWN_DIRECTIVES;
  for (const name of path.split(".")) {
    if (block === undefined || block === "any") return undefined;
    block = knownDirective(block, name)?.block;
  }
  return block;
}

function* walk(block: KnownBlock, at: string): Generator<[string, KnownBlock, string]> {
  for (const name of Object.keys(block)) {
    yield [at, block, name];
    const child = block[name]?.block;
    if (child && child !== "any") yield* walk(child, at === "" ? name : `${at}.${name}`);
  }
}

describe("KNOWN_DIRECTIVES", () => {
  it("knows SRS's top-level blocks and the vhost's sub-blocks", () => {
    for (const name of ["vhost", "http_api", "http_server", "rtmps", "rtc_server", "srt_server", "stream_caster", "heartbeat", "stats", "exporter", "circuit_breaker", "tencentcloud_cls", "tencentcloud_apm"]) {
      expect(typeof blockAt(name), name).toBe("object");
    }
    for (const name of ["play", "publish", "refer", "security", "forward", "http_hooks", "hls", "hds", "http_remux", "http_static", "dvr", "ingest", "transcode", "cluster", "bandcheck", "exec", "dash", "rtc", "srt"]) {
      expect(typeof knownDirective(KNOWN_VHOST_DIRECTIVES, name)?.block, name).toBe("object");
    }
    expect(typeof blockAt("http_api.auth")).toBe("object");
    expect(typeof blockAt("http_api.raw_api")).toBe("object");
    expect(typeof blockAt("vhost.ingest.input")).toBe("object");
  });

  it("accepts any child in the ffmpeg option blocks of both engines", () => {
    for (const engine of ["vhost.transcode.engine", "vhost.ingest.engine"]) {
      for (const name of ["vfilter", "vparams", "aparams", "perfile"]) expect(blockAt(`${engine}.${name}`)).toBe("any");
    }
  });

  it("maps every older spelling to a current directive that exists", () => {
    for (const [at, block, name] of walk(KNOWN_DIRECTIVES, "")) {
      const newForm = block[name]?.newForm;
      if (newForm === undefined) continue;
      const parts = newForm.split(".");
      const last = parts.pop() ?? "";
      const parent = parts.length === 0 ? (at === "" ? KNOWN_DIRECTIVES : blockAt(at)) : blockAt([at, ...parts].filter(Boolean).join("."));
      expect(parent && parent !== "any" ? knownDirective(parent, last) : undefined, `${at}.${name} -> ${newForm}`).toBeDefined();
    }
  });

  it("is frozen", () => {
    expect(Object.isFrozen(KNOWN_DIRECTIVES)).toBe(true);
    expect(Object.isFrozen(KNOWN_VHOST_DIRECTIVES)).toBe(true);
    expect(Object.isFrozen(knownDirective(KNOWN_VHOST_DIRECTIVES, "hls"))).toBe(true);
  });

  it("tells where a name belongs, not counting older spellings", () => {
    expect(placesOf("hls_fragment")).toEqual(["vhost.hls"]);
    expect(placesOf("gop_cache")).toEqual(["vhost.play"]);
    expect(placesOf("no_such_directive")).toEqual([]);
    expect(placesOf("constructor")).toEqual([]);
  });
});

describe("nearestName", () => {
  it("measures edits", () => {
    expect(editDistance("chunk_size", "chunk_size")).toBe(0);
    expect(editDistance("chunck_size", "chunk_size")).toBe(1);
    expect(editDistance("gop_cahce", "gop_cache")).toBe(2);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("suggests a close name and nothing when all are far", () => {
    expect(nearestName("lisen", ["listen", "pid"])).toBe("listen");
    expect(nearestName("worker_processes", ["listen", "pid"])).toBeUndefined();
    expect(nearestName("ab", ["xy"])).toBeUndefined();
  });

  it("costs little for a very long name", () => {
    const t0 = performance.now();
    expect(nearestName("x".repeat(100_000), Object.keys(KNOWN_DIRECTIVES))).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(50);
  });
});
