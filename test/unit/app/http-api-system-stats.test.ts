import { describe, it, expect } from "vitest";
import {
  SystemStats,
  countCpuList,
  cpuBusy,
  isPublicAddress,
  memInfoOf,
  parseDiskIoTicks,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseSelfStat,
  parseSockstat,
  parseTcpEstablished,
  parseVmstatPaging,
  splitNetBytes,
} from "../../../src/app/system-stats.js";

describe("system stats parsers", () => {
  it("reads the cpu line of /proc/stat and the busy fraction between two samples", () => {
    const a = parseProcStat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")!;
    expect(a).toMatchObject({ user: 100, nice: 0, sys: 50, idle: 800, iowait: 50, irq: 0, steal: 0, guest: 0 });
    const b = parseProcStat("cpu  200 0 100 1000 100 0 0 0 0 0\n")!;
    // 400 ticks, 200 idle: half busy (iowait counts as busy, as SRS).
    expect(cpuBusy(a, b)).toBeCloseTo(0.5);
    expect(parseProcStat("nothing")).toBeNull();
  });

  it("reads /proc/meminfo as SRS's SrsMemInfo", () => {
    const m = memInfoOf(
      parseMeminfo("MemTotal:       1000 kB\nMemFree:         400 kB\nBuffers:          50 kB\nCached:          150 kB\nSwapTotal:       200 kB\nSwapFree:        150 kB\n"),
    )!;
    expect(m).toMatchObject({ MemTotal: 1000, MemActive: 600, RealInUse: 400, NotInUse: 600, SwapTotal: 200 });
    expect(m.percent_ram).toBeCloseTo(0.4);
    expect(m.percent_swap).toBeCloseTo(0.25);
    expect(memInfoOf(parseMeminfo(""))).toBeNull();
  });

  it("splits /proc/net/dev into public and lo-or-private bytes", () => {
    const dev = parseNetDev(
      [
        "Inter-|   Receive                                                |  Transmit",
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
        "    lo:  1000 10 0 0 0 0 0 0  1000 10 0 0 0 0 0 0",
        "  eth0:  5000 10 0 0 0 0 0 0  7000 10 0 0 0 0 0 0",
        "  eth1:   300 10 0 0 0 0 0 0   400 10 0 0 0 0 0 0",
      ].join("\n"),
    );
    expect(dev.get("eth0")).toEqual({ recv: 5000, send: 7000 });
    expect(splitNetBytes(dev, (name) => name === "eth0")).toEqual({ recv: 5000, send: 7000, recvi: 1300, sendi: 1400 });
  });

  it("counts private and loopback addresses as intranet, as SRS", () => {
    expect(isPublicAddress("8.8.8.8", "IPv4")).toBe(true);
    for (const a of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.1", "192.168.1.1", "169.254.1.1"]) {
      expect(isPublicAddress(a, "IPv4")).toBe(false);
    }
    expect(isPublicAddress("172.32.0.1", "IPv4")).toBe(true);
    expect(isPublicAddress("2001:db8::1", "IPv6")).toBe(true);
    expect(isPublicAddress("fe80::1", "IPv6")).toBe(false);
    expect(isPublicAddress("::1", "IPv6")).toBe(false);
  });

  it("reads sockstat, snmp, cpu lists, vmstat and diskstats", () => {
    expect(parseSockstat("sockets: used 9\nTCP: inuse 5 orphan 0 tw 3 alloc 7 mem 1\nUDP: inuse 2 mem 0\nUDP6: inuse 1\n")).toEqual({
      tcpAlloc: 7,
      tcpTw: 3,
      udp: 3,
    });
    expect(parseTcpEstablished("Ip: 1 2\nIp: 3 4\nTcp: RtoAlgorithm RtoMin CurrEstab InSegs\nTcp: 1 200 42 9\n")).toBe(42);
    expect(countCpuList("0-3,6\n")).toBe(5);
    expect(countCpuList("0\n")).toBe(1);
    expect(parseVmstatPaging("nr_free_pages 1\npgpgin 100\npgpgout 200\n")).toEqual({ inKB: 100, outKB: 200 });
    expect(parseDiskIoTicks("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14\n").get("sda")).toBe(10);
  });

  it("reads /proc/self/stat with a command name holding spaces and parentheses", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 1));
    fields[21] = "18446744073709551615"; // rsslim: the 22nd field after the state
    const s = parseSelfStat(`42 (my (odd) name) S ${fields.join(" ")}`)!;
    expect(s).toMatchObject({ pid: 42, comm: "(my (odd) name)", state: "S", ppid: 1, pgrp: 2 });
    expect(s["rsslim"]).toBe(18446744073709551615n);
  });
});

describe("SystemStats", () => {
  it("reports SRS's summary fields and ours, ok on Linux", () => {
    const sys = new SystemStats({ totals: () => ({ sendBytes: 1000, recvBytes: 2000 }), clientCount: () => 3, startedAt: Date.now() - 5000 });
    sys.sample();
    sys.sample();
    const d = sys.summaries() as { ok: boolean; self: Record<string, unknown>; system: Record<string, unknown> };
    expect(d.ok).toBe(process.platform === "linux");
    expect(d.self).toMatchObject({ pid: process.pid, ppid: process.ppid, cwd: process.cwd(), srs_uptime: 5 });
    expect(d.self["mem_kbyte"]).toBeGreaterThan(1000);
    expect(d.system).toMatchObject({ srs_recv_bytes: 2000, srs_send_bytes: 1000, conn_srs: 3 });
    const numbers = ["cpu_percent", "mem_ram_kbyte", "cpus", "cpus_online", "uptime", "ilde_time", "load_1m"];
    numbers.push("net_recvi_bytes", "conn_sys", "net_recv_kbps", "srs_send_kbps");
    for (const k of numbers) {
      expect(typeof d.system[k], k).toBe("number");
    }
    expect(d.system["cpus"]).toBeGreaterThan(0);
  });
});
