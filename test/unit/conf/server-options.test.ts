/** publish { firstpkt_timeout; normal_timeout; }, min_latency, tcp_nodelay, pithy_print_ms, utc_time. */
import { describe, expect, it } from "vitest";
import { DEFAULT_VHOST, MIN_LATENCY_MW_MS } from "../../../src/conf/config.js";
import { sourcePlayConfig } from "../../../src/app/rtmp-connection.js";
import { catchConfError, errorOf, load, messages } from "./catch-conf-error.js";

describe("server options: defaults", () => {
  it("gives SRS's defaults", () => {
    const { config, warnings } = load("vhost a.com { }");
    expect(warnings).toEqual([]);
    expect(config.pithyPrintMs).toBe(10000);
    expect(config.utcTime).toBe(false);
    for (const name of [DEFAULT_VHOST, "a.com"]) {
      const v = config.vhosts.get(name)!;
      expect(v.publish).toEqual({ firstPktTimeout: 20000, normalTimeout: 5000 });
      expect(v.minLatency).toBe(false);
      expect(v.tcpNodelay).toBe(false);
    }
  });
});

describe("server options: values", () => {
  it("reads pithy_print_ms and utc_time without a warning", () => {
    const { config, warnings } = load("pithy_print_ms 1000;\nutc_time on;");
    expect(warnings).toEqual([]);
    expect(config.pithyPrintMs).toBe(1000);
    expect(config.utcTime).toBe(true);
  });

  it("reads publish { }, min_latency and tcp_nodelay per vhost", () => {
    const { config, warnings } = load(
      "vhost a.com {\n  min_latency on;\n  tcp_nodelay on;\n  publish {\n    firstpkt_timeout 1500;\n    normal_timeout 700;\n  }\n}\nvhost b.com { publish { normal_timeout 9000; } }",
    );
    expect(warnings).toEqual([]);
    const a = config.vhosts.get("a.com")!;
    expect(a).toMatchObject({ minLatency: true, tcpNodelay: true, publish: { firstPktTimeout: 1500, normalTimeout: 700 } });
    expect(config.vhosts.get("b.com")!.publish).toEqual({ firstPktTimeout: 20000, normalTimeout: 9000 });
    expect(config.vhosts.get(DEFAULT_VHOST)!.minLatency).toBe(false);
  });

  it("still warns for the publish directives not implemented yet", () => {
    const { config, warnings } = load("vhost a { publish { mr on; firstpkt_timeout 3000; } }");
    expect(messages(warnings)).toEqual([`conf/x.conf:1:21: "publish.mr" is not implemented yet; ignored`]);
    expect(config.vhosts.get("a")!.publish.firstPktTimeout).toBe(3000);
  });

  it("reads SRS's older vhost-level publish_1stpkt_timeout and publish_normal_timeout, with a notice", () => {
    const { config, warnings } = load(
      "vhost a {\n  publish { firstpkt_timeout 3000; }\n  publish_1stpkt_timeout 4000;\n  publish_normal_timeout 6000;\n}",
    );
    expect(config.vhosts.get("a")!.publish).toEqual({ firstPktTimeout: 4000, normalTimeout: 6000 });
    expect(warnings.map((w) => w.level)).toEqual(["notice", "notice"]);
    expect(messages(warnings)[0]).toBe(
      `conf/x.conf:3:3: vhost-level "publish_1stpkt_timeout" is SRS's older form; read as "publish { firstpkt_timeout 4000; }"`,
    );
  });

  it("min_latency caps merged writes at MIN_LATENCY_MW_MS and keeps a smaller mw_latency", () => {
    const { config } = load(
      "vhost a { min_latency on; }\nvhost b { min_latency on; play { mw_latency 0; } }\nvhost c { play { mw_latency 500; } }",
    );
    expect(MIN_LATENCY_MW_MS).toBe(100);
    expect(sourcePlayConfig(config.vhosts.get("a")!).mwLatency).toBe(100);
    expect(sourcePlayConfig(config.vhosts.get("b")!).mwLatency).toBe(0);
    expect(sourcePlayConfig(config.vhosts.get("c")!).mwLatency).toBe(500);
  });

  it("reads on/off as SRS (only \"on\" turns on a switch that is off by default)", () => {
    const { config, warnings } = load("utc_time yes;\nvhost a { tcp_nodelay true; }");
    expect(config.utcTime).toBe(false);
    expect(config.vhosts.get("a")!.tcpNodelay).toBe(false);
    expect(warnings).toHaveLength(2);
  });
});

describe("server options: errors name file:line:column", () => {
  it("refuses bad timeouts", () => {
    expect(errorOf("vhost a {\n  publish {\n    firstpkt_timeout 0;\n  }\n}")).toMatch(/^conf\/x\.conf:3:5: invalid value "0" for "firstpkt_timeout"/);
    expect(errorOf("vhost a {\n  publish { normal_timeout 5s; }\n}")).toMatch(/^conf\/x\.conf:2:13: invalid value "5s" for "normal_timeout"/);
    expect(errorOf("vhost a { publish { normal_timeout; } }")).toMatch(/^conf\/x\.conf:1:21: missing value for "normal_timeout"/);
  });

  it("refuses a bad pithy_print_ms and a switch without a value", () => {
    expect(errorOf("\npithy_print_ms 50;")).toMatch(/^conf\/x\.conf:2:1: invalid value "50" for "pithy_print_ms"/);
    expect(errorOf("pithy_print_ms -1;")).toMatch(/^conf\/x\.conf:1:1: invalid value "-1" for "pithy_print_ms"/);
    expect(errorOf("utc_time;")).toBe(`conf/x.conf:1:1: missing value for "utc_time": expected on|off`);
    expect(errorOf("vhost a {\n  min_latency on off;\n}")).toMatch(/^conf\/x\.conf:2:3: too many values for "min_latency"/);
  });

  it("suggests the name of a misspelled publish directive", () => {
    expect(catchConfError(() => load("vhost a { publish { firstpkt_timout 1; } }")).message).toMatch(/firstpkt_timeout/);
  });
});
