import { describe, expect, it } from "vitest";
import { parseConfigText, type VhostConfig } from "../../../src/conf/config.js";
import { checkAccess, checkRefer, checkSecurity, pageUrlHost } from "../../../src/app/access.js";
import { ipBytes, ipMatches, parseIpMatch } from "../../../src/conf/ip-match.js";

function vhost(body: string): VhostConfig {
  return parseConfigText(`vhost v {\n${body}\n}`, "x.conf").config.vhosts.get("v")!;
}

function matches(cidr: string, ip: string): boolean {
  const m = parseIpMatch(cidr);
  if (!m) throw new Error(`bad ${cidr}`);
  return ipMatches(m, ip);
}

describe("ip-match", () => {
  it("reads IPv4, IPv6 and IPv4-mapped addresses", () => {
    expect([...ipBytes("10.1.2.3")!]).toEqual([10, 1, 2, 3]);
    expect([...ipBytes("::ffff:127.0.0.1")!]).toEqual([127, 0, 0, 1]);
    expect([...ipBytes("::1")!]).toEqual([...new Array(15).fill(0), 1]);
    expect(ipBytes("2001:db8::1:0:0:1")!.length).toBe(16);
    expect([...ipBytes("1:2:3:4:5:6:7.8.9.10")!].slice(12)).toEqual([7, 8, 9, 10]);
    expect(ipBytes("example.com")).toBeUndefined();
  });

  it("matches IPv4 CIDRs", () => {
    expect(matches("192.168.0.0/16", "192.168.44.5")).toBe(true);
    expect(matches("192.168.0.0/16", "192.169.0.1")).toBe(false);
    expect(matches("10.0.0.0/8", "::ffff:10.9.9.9")).toBe(true);
    expect(matches("0.0.0.0/0", "8.8.8.8")).toBe(true);
    expect(matches("10.0.0.128/25", "10.0.0.127")).toBe(false);
    expect(matches("10.0.0.128/25", "10.0.0.200")).toBe(true);
    expect(matches("127.0.0.1", "127.0.0.1")).toBe(true);
    expect(matches("127.0.0.1", "127.0.0.2")).toBe(false);
  });

  it("matches IPv6 CIDRs and never mixes families", () => {
    expect(matches("fd00::/8", "fd12:3456::1")).toBe(true);
    expect(matches("fd00::/8", "fe80::1")).toBe(false);
    expect(matches("2001:db8::/33", "2001:db8:7fff::1")).toBe(true);
    expect(matches("2001:db8::/33", "2001:db8:8000::1")).toBe(false);
    expect(matches("::1", "0:0:0:0:0:0:0:1")).toBe(true);
    expect(matches("::/0", "127.0.0.1")).toBe(false);
    expect(matches("::ffff:10.0.0.0/104", "10.1.1.1")).toBe(true);
  });

  it("refuses bad prefixes", () => {
    expect(parseIpMatch("10.0.0.0/33")).toBeUndefined();
    expect(parseIpMatch("::/129")).toBeUndefined();
    expect(parseIpMatch("10.0.0.0/")).toBeUndefined();
  });
});

describe("refer", () => {
  it("takes the host of the pageUrl as SRS: no scheme, path or port", () => {
    expect(pageUrlHost("http://www.Example.com:8080/live/index.html")).toBe("www.example.com");
    expect(pageUrlHost("www.example.com/x")).toBe("www.example.com");
    expect(pageUrlHost("")).toBe("");
  });

  it("matches a domain suffix, all first, then the action's list", () => {
    const refer = { enabled: true, all: ["a.com", "b.org"], publish: ["pub.a.com"], play: [] as string[] };
    expect(checkRefer(refer, "play", "http://www.a.com/p")).toBeUndefined();
    expect(checkRefer(refer, "play", "https://x.b.org")).toBeUndefined();
    // As SRS, no dot boundary.
    expect(checkRefer(refer, "play", "http://evila.com/")).toBeUndefined();
    expect(checkRefer(refer, "play", "http://a.com.evil.net/")).toMatch(/^refer all a\.com b\.org: pageUrl "http:\/\/a\.com\.evil\.net\/" not allowed/);
    expect(checkRefer(refer, "publish", "http://pub.a.com/")).toBeUndefined();
    expect(checkRefer(refer, "publish", "http://www.a.com/")).toMatch(/^refer publish pub\.a\.com/);
  });

  it("fails an empty pageUrl when a list applies, and checks nothing when off or unlisted", () => {
    const refer = { enabled: true, all: [] as string[], publish: ["a.com"], play: [] as string[] };
    expect(checkRefer(refer, "publish", "")).toMatch(/refer publish/);
    expect(checkRefer(refer, "play", "")).toBeUndefined();
    expect(checkRefer({ ...refer, enabled: false }, "publish", "")).toBeUndefined();
  });
});

describe("security", () => {
  const sec = (body: string) => vhost(`security {\nenabled on;\n${body}\n}`).security;

  it("checks every deny rule first, whatever the order", () => {
    const s = sec("allow publish all;\ndeny publish 127.0.0.1;");
    expect(checkSecurity(s, "publish", "127.0.0.1")).toBe('denied by security rule "deny publish 127.0.0.1" (x.conf:5)');
    expect(checkSecurity(s, "publish", "10.0.0.1")).toBeUndefined();
  });

  it("with only deny rules, allows whoever is not denied, for either action", () => {
    const s = sec("deny publish 127.0.0.1;");
    expect(checkSecurity(s, "publish", "127.0.0.1")).toMatch(/denied/);
    expect(checkSecurity(s, "publish", "::ffff:127.0.0.1")).toMatch(/denied/);
    expect(checkSecurity(s, "play", "127.0.0.1")).toBeUndefined();
  });

  it("with any allow rule, refuses whoever no allow rule of that action matches (as SRS)", () => {
    const s = sec("allow play all;\nallow publish 192.168.0.0/16;");
    expect(checkSecurity(s, "play", "8.8.8.8")).toBeUndefined();
    expect(checkSecurity(s, "publish", "192.168.1.9")).toBeUndefined();
    expect(checkSecurity(s, "publish", "8.8.8.8")).toBe("not allowed by any of the 2 security allow rules");
    // An allow rule for play alone refuses every publish.
    expect(checkSecurity(sec("allow play all;"), "publish", "127.0.0.1")).toMatch(/not allowed/);
  });

  it("matches IPv6 rules", () => {
    const s = sec("deny play fd00::/8;\nallow play all;");
    expect(checkSecurity(s, "play", "fd00::5")).toMatch(/deny play fd00::\/8/);
    expect(checkSecurity(s, "play", "::1")).toBeUndefined();
  });

  it("refuses everyone when enabled without rules, and nobody when off", () => {
    expect(checkSecurity({ enabled: true, rules: [] }, "play", "127.0.0.1")).toMatch(/without rules/);
    expect(checkSecurity(vhost("security { deny play all; }").security, "play", "127.0.0.1")).toBeUndefined();
  });
});

describe("checkAccess", () => {
  it("applies refer all, then security, then refer for the action", () => {
    const v = vhost("refer { enabled on; all a.com; play p.a.com; }\nsecurity { enabled on; deny play 127.0.0.1; }");
    expect(checkAccess(v, "play", "127.0.0.1", "http://x.com/")).toMatch(/^refer all/);
    expect(checkAccess(v, "play", "127.0.0.1", "http://p.a.com/")).toMatch(/^denied by security/);
    expect(checkAccess(v, "play", "10.0.0.1", "http://q.a.com/")).toMatch(/^refer play/);
    expect(checkAccess(v, "play", "10.0.0.1", "http://p.a.com/")).toBeUndefined();
    expect(checkAccess(v, "publish", "127.0.0.1", "http://q.a.com/")).toBeUndefined();
  });
});
