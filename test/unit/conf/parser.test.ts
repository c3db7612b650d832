import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isMainThread } from "node:worker_threads";
import { afterEach, beforeEach, describe, it, expect } from "vitest";
import { CONF_LIMITS, parseConfFile, parseConfText, type Directive } from "../../../src/conf/parser.js";
import { SluiceError } from "../../../src/core/errors.js";
import { catchConfError } from "./catch-conf-error.js";

/** name args... [children], without positions, to compare trees briefly. */
function shape(ds: Directive[]): unknown[] {
  return ds.map((d) => (d.children ? [d.name, ...d.args, shape(d.children)] : [d.name, ...d.args]));
}

function parse(text: string): Directive[] {
  return parseConfText(text, "conf/x.conf");
}

function syntaxError(text: string): string {
  const err = catchConfError(() => parse(text));
  expect(err).toBeInstanceOf(SluiceError);
  expect(err.code).toBe("ERR_CONF_SYNTAX");
  return err.message;
}

describe("parseConfText: syntax", () => {
  it("builds a tree of directives and blocks with file, line and column", () => {
    const tree = parse("listen 1935 19350;\nvhost a.com {\n    play {\n        gop_cache off;\n    }\n}\n");
    expect(shape(tree)).toEqual([
      ["listen", "1935", "19350"],
      ["vhost", "a.com", [["play", [["gop_cache", "off"]]]]],
    ]);
    expect(tree[0]).toEqual({ name: "listen", args: ["1935", "19350"], file: "conf/x.conf", line: 1, column: 1 });
    const play = tree[1]?.children?.[0];
    expect(play).toMatchObject({ name: "play", line: 3, column: 5 });
    expect(play?.children?.[0]).toMatchObject({ name: "gop_cache", line: 4, column: 9 });
  });

  it("tells an empty block from a plain directive", () => {
    const [block, plain] = parse("vhost a {}\nvhost b;");
    expect(block?.children).toEqual([]);
    expect(plain?.children).toBeUndefined();
  });

  it("reads an empty file and a file of comments as no directives", () => {
    expect(parse("")).toEqual([]);
    expect(parse("# only\n   # comments\n")).toEqual([]);
  });

  it("accepts CRLF line endings, tabs and a block brace glued to the name", () => {
    expect(shape(parse("vhost\ta {\r\n\tplay{ mw_msgs 4; }\r\n}\r\n"))).toEqual([
      ["vhost", "a", [["play", [["mw_msgs", "4"]]]]],
    ]);
  });

  it("reads quoted arguments with separators and escaped quotes", () => {
    expect(shape(parse(`vfilter { vf 'crop=in_w-20:in_h; #x {y}'; t "a \\"b\\""; }`))).toEqual([
      ["vfilter", [["vf", "crop=in_w-20:in_h; #x {y}"], ["t", 'a "b"']]],
    ]);
  });

  it("names what is missing when the file ends inside a directive", () => {
    expect(syntaxError("daemon off;\nlisten 1935")).toBe(
      `conf/x.conf:2:1: expected ';' or '{' after directive "listen", found end of file`,
    );
  });

  it("wants a directive to end on its line, as SRS, so a missing ';' is found there", () => {
    expect(syntaxError("listen 1935\nmax_connections 1000;")).toBe(
      `conf/x.conf:1:1: expected ';' or '{' after directive "listen" on the same line, found "max_connections" on line 2`,
    );
    expect(syntaxError("vhost a\n{\n}")).toBe(
      `conf/x.conf:1:1: expected ';' or '{' after directive "vhost" on the same line, found '{' on line 2`,
    );
  });

  it("refuses a '}' inside a directive", () => {
    expect(syntaxError("vhost a {\n    enabled on }")).toBe(
      `conf/x.conf:2:16: expected ';' or '{' after directive "enabled", found '}'`,
    );
  });

  it("refuses an unterminated block at the block's opening", () => {
    expect(syntaxError("listen 1935;\nvhost a {\n    play {\n    }\n")).toBe(
      `conf/x.conf:2:1: expected '}' to close the block "vhost", found end of file`,
    );
  });

  it("refuses a stray '}'", () => {
    expect(syntaxError("listen 1935;\n}\n")).toBe(`conf/x.conf:2:1: unexpected '}': no block is open here`);
  });

  it("refuses an empty directive and a block without a name", () => {
    expect(syntaxError("listen 1935;\n  ;")).toBe(
      `conf/x.conf:2:3: empty directive: expected a directive name before ';'`,
    );
    expect(syntaxError("vhost a { { } }")).toBe(`conf/x.conf:1:11: expected a directive name before '{'`);
  });

  it("refuses an unterminated quote where it starts", () => {
    expect(syntaxError("vhost a {\n    mount \"[app];\n}")).toBe(
      `conf/x.conf:2:11: unterminated quoted string: expected a closing " before the end of the line`,
    );
  });
});

describe("parseConfText: limits", () => {
  it("reads blocks nested to the limit and refuses one level more", () => {
    const nested = (n: number): string => "a {".repeat(n) + "}".repeat(n);
    expect(() => parse(nested(CONF_LIMITS.maxBlockDepth))).not.toThrow();
    const err = catchConfError(() => parse(nested(CONF_LIMITS.maxBlockDepth + 1)));
    expect(err.code).toBe("ERR_CONF_SYNTAX");
    expect(err.message).toMatch(/^conf\/x\.conf:1:\d+: blocks nested too deep: expected at most 32 levels$/);
  });

  it("refuses deep nesting quickly, without exhausting the stack", () => {
    const t0 = performance.now();
    const err = catchConfError(() => parse("a{".repeat(1_000_000)));
    expect(err.code).toBe("ERR_CONF_SYNTAX");
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("refuses a file over the size limit", () => {
    const big = "#".repeat(CONF_LIMITS.maxFileBytes + 1);
    const err = catchConfError(() => parse(big));
    expect(err.message).toBe(`conf/x.conf:1:1: config file is 4194305 bytes: expected at most 4194304 bytes`);
  });

  it("refuses more directives than the limit", () => {
    const err = catchConfError(() => parse("a;\n".repeat(CONF_LIMITS.maxDirectives + 1)));
    expect(err.code).toBe("ERR_CONF_SYNTAX");
    expect(err.message).toBe(`conf/x.conf:${CONF_LIMITS.maxDirectives + 1}:1: too many directives: expected at most 200000`);
  });
});

describe("include", () => {
  let dir: string;
  const cwd = process.cwd();

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-conf-"));
  });

  afterEach(() => {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  }

  it("inlines the included file where the include stands, keeping its file name", () => {
    write("conf/vhosts.conf", "vhost a {\n}\n");
    write("conf/main.conf", "listen 1935;\ninclude conf/vhosts.conf;\ndaemon off;\n");
    const tree = parseConfFile("conf/main.conf", { cwd: dir });
    expect(shape(tree)).toEqual([["listen", "1935"], ["vhost", "a", []], ["daemon", "off"]]);
    expect(tree[1]).toMatchObject({ file: "conf/vhosts.conf", line: 1, column: 1 });
  });

  // process.chdir() exists only on a main thread: vitest's default "forks" pool.
  it.runIf(isMainThread)("resolves relative paths against the working directory, not the including file, as SRS", () => {
    // conf/main.conf names conf/sub.conf: from the working directory that is <dir>/conf/sub.conf;
    // from the including file's folder it would be <dir>/conf/conf/sub.conf, which does not exist.
    write("conf/sub.conf", "chunk_size 4096;\n");
    write("conf/main.conf", "include conf/sub.conf;\n");
    process.chdir(dir);
    expect(shape(parseConfFile("conf/main.conf"))).toEqual([["chunk_size", "4096"]]);
    process.chdir(path.join(dir, "conf"));
    const err = catchConfError(() => parseConfFile("main.conf"));
    expect(err.code).toBe("ERR_CONF_INCLUDE");
    expect(err.message).toMatch(/^main\.conf:1:1: cannot read included file "conf\/sub\.conf": no such file \(relative paths resolve against the working directory .*\)$/);
  });

  it("reads an absolute path from anywhere", () => {
    const sub = write("sub.conf", "daemon off;\n");
    expect(shape(parseConfText(`include ${sub};`, "x.conf", { cwd: "/" }))).toEqual([["daemon", "off"]]);
  });

  it("inlines an include inside a block, and several files in one include", () => {
    write("a.conf", "chunk_size 128;\n");
    write("b.conf", "play { mw_msgs 1; }\n");
    const tree = parseConfText("vhost v {\n    include a.conf b.conf;\n}\n", "x.conf", { cwd: dir });
    expect(shape(tree)).toEqual([["vhost", "v", [["chunk_size", "128"], ["play", [["mw_msgs", "1"]]]]]]);
  });

  it("refuses an include cycle, naming the chain", () => {
    write("a.conf", "listen 1935;\ninclude b.conf;\n");
    write("b.conf", "\ninclude a.conf;\n");
    const err = catchConfError(() => parseConfFile("a.conf", { cwd: dir }));
    expect(err.code).toBe("ERR_CONF_INCLUDE");
    expect(err.message).toBe("b.conf:2:1: include cycle: a.conf -> b.conf -> a.conf (included from a.conf:2:1)");
  });

  it("refuses a file that includes itself, however it is spelt", () => {
    write("self.conf", "include ./self.conf;\n");
    const err = catchConfError(() => parseConfFile("self.conf", { cwd: dir }));
    expect(err.message).toBe("self.conf:1:1: include cycle: self.conf -> ./self.conf");
  });

  it("allows the same file twice when it is not a cycle", () => {
    write("v.conf", "daemon off;\n");
    expect(shape(parseConfText("include v.conf;\ninclude v.conf;", "x.conf", { cwd: dir }))).toEqual([
      ["daemon", "off"],
      ["daemon", "off"],
    ]);
  });

  it("reads includes nested to the limit and refuses one level more", () => {
    const chain = (n: number): string => {
      for (let i = 0; i < n; i++) write(`d${i}.conf`, `include d${i + 1}.conf;\n`);
      write(`d${n}.conf`, "daemon off;\n");
      return "d0.conf";
    };
    expect(shape(parseConfFile(chain(CONF_LIMITS.maxIncludeDepth), { cwd: dir }))).toEqual([["daemon", "off"]]);
    const err = catchConfError(() => parseConfFile(chain(CONF_LIMITS.maxIncludeDepth + 1), { cwd: dir }));
    expect(err.code).toBe("ERR_CONF_INCLUDE");
    expect(err.message).toMatch(/^d16\.conf:1:1: includes nested too deep including "d17\.conf": expected at most 16 levels \(included from d15\.conf:1:1, .*from d0\.conf:1:1\)$/);
  });

  it("refuses an include that multiplies files beyond the limit", () => {
    write("leaf.conf", "a;\n");
    write("mid.conf", "include" + " leaf.conf".repeat(20) + ";\n");
    const err = catchConfError(() => parseConfText("include" + " mid.conf".repeat(20) + ";", "x.conf", { cwd: dir }));
    expect(err.code).toBe("ERR_CONF_INCLUDE");
    expect(err.message).toMatch(/too many includes: expected at most 256 included files/);
  });

  it("reports an error inside an included file at its position, and where it was included from", () => {
    write("bad.conf", "vhost a {\n    enabled on\n}\n");
    const err = catchConfError(() => parseConfText("listen 1935;\n\ninclude bad.conf;", "main.conf", { cwd: dir }));
    expect(err.code).toBe("ERR_CONF_SYNTAX");
    expect(err.message).toBe(
      `bad.conf:2:5: expected ';' or '{' after directive "enabled" on the same line, found '}' on line 3 (included from main.conf:3:1)`,
    );
    expect(err).toMatchObject({ file: "bad.conf", line: 2, column: 5 });
  });

  it("refuses a missing file, a directory, a device, an empty include and an include block", () => {
    fs.mkdirSync(path.join(dir, "sub"));
    const include = (text: string): string => catchConfError(() => parseConfText(text, "x.conf", { cwd: dir })).message;
    expect(include("include nope.conf;")).toMatch(/^x\.conf:1:1: cannot read included file "nope\.conf": no such file/);
    expect(include("\n  include sub;")).toMatch(/^x\.conf:2:3: cannot read included file "sub": it is a directory/);
    expect(include("include /dev/null;")).toBe(`x.conf:1:1: cannot read included file "/dev/null": expected a regular file`);
    expect(include("include;")).toBe(`x.conf:1:1: expected a file after "include"`);
    expect(include("include a.conf { }")).toBe(
      `x.conf:1:16: expected ';' after "include FILE", found '{': include is not a block`,
    );
  });

  it("refuses a missing main file with ERR_CONF_INCLUDE", () => {
    const err = catchConfError(() => parseConfFile("missing.conf", { cwd: dir }));
    expect(err.code).toBe("ERR_CONF_INCLUDE");
    expect(err.message).toMatch(/^missing\.conf:1:1: cannot read the config file "missing\.conf": no such file/);
  });
});

describe("parseConfFile: file size", () => {
  it("refuses a file over the size limit without reading it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-conf-"));
    try {
      const file = path.join(dir, "big.conf");
      fs.writeFileSync(file, "");
      fs.truncateSync(file, 64 * 1024 * 1024);
      const t0 = performance.now();
      const err = catchConfError(() => parseConfFile("big.conf", { cwd: dir }));
      expect(err.message).toBe(`big.conf:1:1: config file is 67108864 bytes: expected at most 4194304 bytes`);
      expect(performance.now() - t0).toBeLessThan(100);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
