/** refer { } and security { } in a vhost, and SRS's older refer spellings. */
import { describe, expect, it } from "vitest";
import { catchConfError, errorOf, load, messages } from "./catch-conf-error.js";

describe("refer { }", () => {
  it("reads enabled, all, publish and play, without warnings", () => {
    const { config, warnings } = load(
      "vhost a {\n  refer {\n    enabled on;\n    all a.com b.com;\n    publish pub.com;\n    play play.com x.net;\n  }\n}",
    );
    expect(warnings).toEqual([]);
    expect(config.vhosts.get("a")?.refer).toEqual({
      enabled: true,
      all: ["a.com", "b.com"],
      publish: ["pub.com"],
      play: ["play.com", "x.net"],
    });
  });

  it("is off by default and frozen", () => {
    const { config } = load("vhost a { refer { all a.com; } }");
    const refer = config.vhosts.get("a")!.refer;
    expect(refer).toEqual({ enabled: false, all: ["a.com"], publish: [], play: [] });
    expect(Object.isFrozen(refer)).toBe(true);
    expect(Object.isFrozen(refer.all)).toBe(true);
  });

  it("refuses a list without domains, with file:line", () => {
    expect(errorOf("vhost a {\n  refer { enabled on; play; }\n}")).toMatch(/^conf\/x\.conf:2:23: missing value for "play": expected one or more domains/);
    expect(errorOf("vhost a { refer { all http://a.com/; } }")).toMatch(/invalid value "http:\/\/a\.com\/" for "all": expected a domain/);
  });

  it("reads the older vhost-level refer, refer_play and refer_publish with a notice", () => {
    const { config, warnings } = load(
      "vhost a {\n  refer a.com b.com;\n  refer_play p.com;\n  refer_publish e.com;\n}\nvhost b {\n  refer c.com;\n}",
    );
    expect(config.vhosts.get("a")?.refer).toEqual({ enabled: true, all: ["a.com", "b.com"], publish: ["e.com"], play: ["p.com"] });
    expect(config.vhosts.get("b")?.refer).toEqual({ enabled: true, all: ["c.com"], publish: [], play: [] });
    expect(warnings.every((w) => w.level === "notice")).toBe(true);
    expect(messages(warnings)).toEqual([
      `conf/x.conf:2:3: vhost-level "refer" is SRS's older form; read as "refer { enabled on; all a.com b.com; }"`,
      `conf/x.conf:3:3: vhost-level "refer_play" is SRS's older form; read as "refer { enabled on; play p.com; }"`,
      `conf/x.conf:4:3: vhost-level "refer_publish" is SRS's older form; read as "refer { enabled on; publish e.com; }"`,
    ]);
  });

  it("suggests a name for a misspelt directive in refer", () => {
    const err = catchConfError(() => load("vhost a { refer { alll a.com; } }"));
    expect(err.code).toBe("ERR_CONF_UNKNOWN_DIRECTIVE");
    expect(err.message).toMatch(/did you mean "all"\?/);
  });
});

describe("security { }", () => {
  it("reads allow and deny rules in file order, IPv4, IPv6 and CIDRs", () => {
    const { config, warnings } = load(
      [
        "vhost a {",
        "  security {",
        "    enabled on;",
        "    allow play all;",
        "    deny publish 10.0.0.1;",
        "    allow publish 192.168.0.0/16;",
        "    deny play ::1;",
        "    allow publish fd00::/8;",
        "  }",
        "}",
      ].join("\n"),
    );
    expect(warnings).toEqual([]);
    const security = config.vhosts.get("a")!.security;
    expect(security.enabled).toBe(true);
    expect(security.rules).toEqual([
      { action: "allow", kind: "play", match: "all", where: "conf/x.conf:4" },
      { action: "deny", kind: "publish", match: "10.0.0.1", where: "conf/x.conf:5" },
      { action: "allow", kind: "publish", match: "192.168.0.0/16", where: "conf/x.conf:6" },
      { action: "deny", kind: "play", match: "::1", where: "conf/x.conf:7" },
      { action: "allow", kind: "publish", match: "fd00::/8", where: "conf/x.conf:8" },
    ]);
    expect(Object.isFrozen(security.rules[0])).toBe(true);
  });

  it("is off by default", () => {
    const { config } = load("vhost a { security { allow play all; } }");
    expect(config.vhosts.get("a")?.security.enabled).toBe(false);
  });

  it("warns when enabled without rules (SRS refuses every client)", () => {
    const { warnings } = load("vhost a { security { enabled on; } }");
    expect(messages(warnings)).toEqual([
      `conf/x.conf:1:11: "security" is enabled without allow or deny rules: every client is refused, as SRS does`,
    ]);
  });

  it.each([
    ["allow play;", /missing values for "allow", given 1: expected allow play\|publish all\|IP\|CIDR/],
    ["deny publish 1.2.3.4 5.6.7.8;", /too many values for "deny", given 3/],
    ["allow watch all;", /invalid value "watch" for "allow": expected play\|publish/],
    ["deny play 1.2.3;", /invalid value "1\.2\.3" for "deny": expected all, an IPv4\/IPv6 address or a CIDR/],
    ["deny play 10.0.0.0/33;", /invalid value "10\.0\.0\.0\/33"/],
    ["deny play fd00::/129;", /invalid value "fd00::\/129"/],
    ["allow play example.com;", /invalid value "example\.com"/],
    ["allow play 10.0.0.0/x;", /invalid value "10\.0\.0\.0\/x"/],
  ])("refuses %s with file:line", (rule, re) => {
    const message = errorOf(`vhost a {\n  security {\n    ${rule}\n  }\n}`);
    expect(message).toMatch(/^conf\/x\.conf:3:5: /);
    expect(message).toMatch(re);
  });
});
