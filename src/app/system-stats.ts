/**
 * The process's and the machine's figures for the HTTP API's /api/v1/summaries (and
 * /rusages, /self_proc_stats, /system_proc_stats, /meminfos), in SRS's field names
 * (srs_app_utility.cpp: srs_api_dump_summaries). Linux's /proc is sampled every
 * SAMPLE_MS; rates (CPU, disk, network kbps) are over the last interval. The files are
 * read synchronously: they are small, in memory, and read a few times every 5 s.
 *
 * Where SRS's choice is odd we say how ours differs (docs/api.md): mem_kbyte is the
 * current RSS (SRS: ru_maxrss, the peak), and the *_kbps fields are ours.
 */
import fs from "node:fs";
import os from "node:os";
import { VERSION } from "../version.js";

const SAMPLE_MS = 5000;

/** What the statistics give the summaries: the server's byte counters and clients. */
export interface SystemStatsSources {
  totals(): { sendBytes: number; recvBytes: number };
  clientCount(): number;
  /** Epoch ms the server started (srs_uptime). */
  readonly startedAt: number;
}

// ---------------------------------------------------------------------------------------
// /proc parsers (pure, for tests)

/** The aggregate "cpu" line of /proc/stat, in clock ticks. */
export interface CpuTimes {
  user: number;
  nice: number;
  sys: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  guest: number;
}

export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 4 || v.some((n) => !Number.isFinite(n))) return null;
  const at = (i: number): number => v[i] ?? 0;
  return { user: at(0), nice: at(1), sys: at(2), idle: at(3), iowait: at(4), irq: at(5), softirq: at(6), steal: at(7), guest: at(8) };
}

/** All ticks of a CpuTimes (guest is already inside user, as the kernel counts it). */
export function cpuTotal(t: CpuTimes): number {
  return t.user + t.nice + t.sys + t.idle + t.iowait + t.irq + t.softirq + t.steal;
}

/** Busy fraction between two samples: 1 - idle/total, as SRS (iowait counts as busy). */
export function cpuBusy(a: CpuTimes, b: CpuTimes): number {
  const total = cpuTotal(b) - cpuTotal(a);
  if (total <= 0) return 0;
  return Math.min(1, Math.max(0, 1 - (b.idle - a.idle) / total));
}

/** /proc/meminfo as "Key" -> kB. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** SRS's SrsMemInfo: in-use RAM excludes buffers and page cache. */
export interface MemInfo {
  MemActive: number;
  RealInUse: number;
  NotInUse: number;
  MemTotal: number;
  MemFree: number;
  Buffers: number;
  Cached: number;
  SwapTotal: number;
  SwapFree: number;
  percent_ram: number;
  percent_swap: number;
}

export function memInfoOf(m: Map<string, number>): MemInfo | null {
  const total = m.get("MemTotal");
  const free = m.get("MemFree");
  if (total === undefined || free === undefined || total <= 0) return null;
  const buffers = m.get("Buffers") ?? 0;
  const cached = m.get("Cached") ?? 0;
  const swapTotal = m.get("SwapTotal") ?? 0;
  const swapFree = m.get("SwapFree") ?? 0;
  const active = total - free;
  const realInUse = Math.max(0, active - buffers - cached);
  return {
    MemActive: active,
    RealInUse: realInUse,
    NotInUse: total - realInUse,
    MemTotal: total,
    MemFree: free,
    Buffers: buffers,
    Cached: cached,
    SwapTotal: swapTotal,
    SwapFree: swapFree,
    percent_ram: realInUse / total,
    percent_swap: swapTotal > 0 ? (swapTotal - swapFree) / swapTotal : 0,
  };
}

/** /proc/net/dev: interface -> bytes received and sent. */
export function parseNetDev(text: string): Map<string, { recv: number; send: number }> {
  const out = new Map<string, { recv: number; send: number }>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim().split(/\s+/).map(Number);
    if (!name || v.length < 9 || !Number.isFinite(v[0]) || !Number.isFinite(v[8])) continue;
    out.set(name, { recv: v[0]!, send: v[8]! });
  }
  return out;
}

/**
 * Whether an address is on the public internet, as SRS's srs_net_device_is_internet for
 * IPv4 (not loopback, 10/8, 172.16/12, 192.168/16; we also count 169.254/16 link-local as
 * private), and for IPv6 a global unicast address (2000::/3).
 */
export function isPublicAddress(address: string, family: "IPv4" | "IPv6"): boolean {
  if (family === "IPv6") return /^[23][0-9a-f]{0,3}:/i.test(address);
  const p = address.split(".").map(Number);
  if (p.length !== 4 || p.some((n) => !Number.isInteger(n))) return false;
  const [a, b] = [p[0]!, p[1]!];
  if (a === 127 || a === 10 || a === 0) return false;
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 169 && b === 254) return false;
  return true;
}

/** Bytes on public interfaces, and on lo and private ones (SRS's net_*_bytes and net_*i_bytes). */
export interface NetBytes {
  recv: number;
  send: number;
  recvi: number;
  sendi: number;
}

export function splitNetBytes(
  devices: Map<string, { recv: number; send: number }>,
  isPublic: (name: string) => boolean,
): NetBytes {
  const out: NetBytes = { recv: 0, send: 0, recvi: 0, sendi: 0 };
  for (const [name, d] of devices) {
    if (name !== "lo" && isPublic(name)) {
      out.recv += d.recv;
      out.send += d.send;
    } else {
      out.recvi += d.recv;
      out.sendi += d.send;
    }
  }
  return out;
}

/** /proc/net/sockstat (and sockstat6 appended): TCP alloc and TIME_WAIT, UDP in use. */
export function parseSockstat(text: string): { tcpAlloc: number; tcpTw: number; udp: number } | null {
  const tcp = /^TCP: inuse \d+ orphan \d+ tw (\d+) alloc (\d+)/m.exec(text);
  if (!tcp) return null;
  let udp = 0;
  for (const m of text.matchAll(/^UDP6?: inuse (\d+)/gm)) udp += Number(m[1]);
  return { tcpAlloc: Number(tcp[2]), tcpTw: Number(tcp[1]), udp };
}

/** /proc/net/snmp: Tcp CurrEstab (IPv4 and IPv6 together). */
export function parseTcpEstablished(text: string): number | null {
  const lines = text.split("\n").filter((l) => l.startsWith("Tcp:"));
  if (lines.length < 2) return null;
  const keys = lines[0]!.trim().split(/\s+/);
  const values = lines[1]!.trim().split(/\s+/);
  const i = keys.indexOf("CurrEstab");
  const v = i < 0 ? NaN : Number(values[i]);
  return Number.isFinite(v) ? v : null;
}

/** "0-3,6" (a /sys/devices/system/cpu list) -> 5. */
export function countCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || !Number.isFinite(a)) continue;
    n += b !== undefined && Number.isFinite(b) ? b - a + 1 : 1;
  }
  return n;
}

/** /proc/vmstat: pgpgin and pgpgout, in KB read from and written to disk. */
export function parseVmstatPaging(text: string): { inKB: number; outKB: number } | null {
  const i = /^pgpgin (\d+)/m.exec(text);
  const o = /^pgpgout (\d+)/m.exec(text);
  return i && o ? { inKB: Number(i[1]), outKB: Number(o[1]) } : null;
}

/** /proc/diskstats: ms spent doing I/O (field 13) per device. */
export function parseDiskIoTicks(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const v = line.trim().split(/\s+/);
    if (v.length < 13) continue;
    const ticks = Number(v[12]);
    if (Number.isFinite(ticks)) out.set(v[2]!, ticks);
  }
  return out;
}

/** The 52 fields of /proc/<pid>/stat after pid and (comm), by SRS's names (proc(5) order). */
const SELF_STAT_FIELDS = [
  "state", "ppid", "pgrp", "session", "tty_nr", "tpgid", "flags", "minflt", "cminflt", "majflt", "cmajflt",
  "utime", "stime", "cutime", "cstime", "priority", "nice", "num_threads", "itrealvalue", "starttime", "vsize", "rss",
  "rsslim", "startcode", "endcode", "startstack", "kstkesp", "kstkeip", "signal", "blocked", "sigignore", "sigcatch",
  "wchan", "nswap", "cnswap", "exit_signal", "processor", "rt_priority", "policy", "delayacct_blkio_ticks",
  "guest_time", "cguest_time",
] as const;

/** A decimal field, as a bigint past 2^53 (rsslim is 2^64-1 when unlimited). */
function procNumber(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) || !/^\d+$/.test(text) ? n : BigInt(text);
}

/** /proc/self/stat as SRS's SrsProcSelfStat (comm may contain spaces and parentheses). */
export function parseSelfStat(text: string): Record<string, number | bigint | string> | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  if (rest.length < SELF_STAT_FIELDS.length) return null;
  const out: Record<string, number | bigint | string> = { pid, comm: text.slice(open, close + 1) };
  SELF_STAT_FIELDS.forEach((name, i) => {
    out[name] = name === "state" ? rest[i]! : procNumber(rest[i]!);
  });
  return out;
}

// ---------------------------------------------------------------------------------------

function read(path: string): string | null {
  try {
    return fs.readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

interface Snapshot {
  at: number;
  cpu: CpuTimes | null;
  /** process.cpuUsage(), µs of user + system time. */
  selfCpuUs: number;
  net: NetBytes | null;
  srs: { sendBytes: number; recvBytes: number };
  paging: { inKB: number; outKB: number } | null;
  diskTicks: Map<string, number> | null;
}

/** Rates over the last sampling interval. */
interface Rates {
  cpu: number;
  selfCpu: number;
  diskReadKBps: number;
  diskWriteKBps: number;
  diskBusy: number;
  net: { recv: number; send: number; recvi: number; sendi: number };
  srs: { recv: number; send: number };
}

const ZERO_RATES: Rates = {
  cpu: 0,
  selfCpu: 0,
  diskReadKBps: 0,
  diskWriteKBps: 0,
  diskBusy: 0,
  net: { recv: 0, send: 0, recvi: 0, sendi: 0 },
  srs: { recv: 0, send: 0 },
};

/** kbit/s from a byte delta over ms. */
function kbps(bytes: number, ms: number): number {
  return ms > 0 ? Math.max(0, Math.round((bytes * 8) / ms)) : 0;
}

export class SystemStats {
  private last: Snapshot | undefined;
  private rates: Rates = ZERO_RATES;
  private timer: NodeJS.Timeout | undefined;
  /** Whole disks (not partitions, loop or ram devices), from /sys/block. */
  private disks: Set<string> | undefined;

  constructor(
    private readonly from: SystemStatsSources,
    private readonly intervalMs = SAMPLE_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample now; rates are over the time since the previous one. */
  sample(): void {
    const now = Date.now();
    const cpuUsage = process.cpuUsage();
    const snap: Snapshot = {
      at: now,
      cpu: parseProcStat(read("/proc/stat") ?? ""),
      selfCpuUs: cpuUsage.user + cpuUsage.system,
      net: this.netBytes(),
      srs: this.from.totals(),
      paging: parseVmstatPaging(read("/proc/vmstat") ?? ""),
      diskTicks: this.diskTicks(),
    };
    const prev = this.last;
    this.last = snap;
    if (!prev) return;
    const ms = snap.at - prev.at;
    if (ms <= 0) return;
    const secs = ms / 1000;
    let diskBusy = 0;
    if (prev.diskTicks && snap.diskTicks) {
      for (const [dev, ticks] of snap.diskTicks) {
        const before = prev.diskTicks.get(dev);
        if (before !== undefined) diskBusy = Math.max(diskBusy, (ticks - before) / ms);
      }
    }
    const netDelta = (k: keyof NetBytes): number => (snap.net && prev.net ? snap.net[k] - prev.net[k] : 0);
    this.rates = {
      cpu: snap.cpu && prev.cpu ? cpuBusy(prev.cpu, snap.cpu) : 0,
      selfCpu: Math.max(0, (snap.selfCpuUs - prev.selfCpuUs) / 1000 / ms),
      diskReadKBps: snap.paging && prev.paging ? Math.max(0, Math.round((snap.paging.inKB - prev.paging.inKB) / secs)) : 0,
      diskWriteKBps: snap.paging && prev.paging ? Math.max(0, Math.round((snap.paging.outKB - prev.paging.outKB) / secs)) : 0,
      diskBusy: Math.min(1, Math.max(0, diskBusy)),
      net: {
        recv: kbps(netDelta("recv"), ms),
        send: kbps(netDelta("send"), ms),
        recvi: kbps(netDelta("recvi"), ms),
        sendi: kbps(netDelta("sendi"), ms),
      },
      srs: {
        recv: kbps(snap.srs.recvBytes - prev.srs.recvBytes, ms),
        send: kbps(snap.srs.sendBytes - prev.srs.sendBytes, ms),
      },
    };
  }

  /** The `data` of /api/v1/summaries. */
  summaries(): Record<string, unknown> {
    if (!this.last) this.sample();
    const last = this.last!;
    const now = Date.now();
    const mem = memInfoOf(parseMeminfo(read("/proc/meminfo") ?? ""));
    const uptime = (read("/proc/uptime") ?? "").trim().split(/\s+/).map(Number);
    const sock = parseSockstat((read("/proc/net/sockstat") ?? "") + (read("/proc/net/sockstat6") ?? ""));
    const established = parseTcpEstablished(read("/proc/net/snmp") ?? "");
    const cpus = countCpuList(read("/sys/devices/system/cpu/present") ?? "") || os.cpus().length;
    const online = countCpuList(read("/sys/devices/system/cpu/online") ?? "") || os.cpus().length;
    const [load1, load5, load15] = os.loadavg();
    const rssKB = Math.round(process.memoryUsage.rss() / 1024);
    const totals = this.from.totals();
    const ok =
      last.cpu !== null &&
      last.net !== null &&
      last.paging !== null &&
      mem !== null &&
      uptime.length >= 2 &&
      uptime.every(Number.isFinite) &&
      sock !== null &&
      established !== null;
    const r = this.rates;
    return {
      ok,
      now_ms: now,
      self: {
        version: VERSION,
        pid: process.pid,
        ppid: process.ppid,
        argv: process.argv.join(" "),
        cwd: process.cwd(),
        mem_kbyte: rssKB,
        mem_percent: mem ? rssKB / mem.MemTotal : 0,
        cpu_percent: r.selfCpu,
        srs_uptime: Math.floor((now - this.from.startedAt) / 1000),
      },
      system: {
        cpu_percent: r.cpu,
        disk_read_KBps: r.diskReadKBps,
        disk_write_KBps: r.diskWriteKBps,
        disk_busy_percent: r.diskBusy,
        mem_ram_kbyte: mem?.MemTotal ?? 0,
        mem_ram_percent: mem?.percent_ram ?? 0,
        mem_swap_kbyte: mem?.SwapTotal ?? 0,
        mem_swap_percent: mem?.percent_swap ?? 0,
        cpus,
        cpus_online: online,
        uptime: uptime[0] ?? 0,
        ilde_time: uptime[1] ?? 0,
        load_1m: load1 ?? 0,
        load_5m: load5 ?? 0,
        load_15m: load15 ?? 0,
        net_sample_time: last.at,
        net_recv_bytes: last.net?.recv ?? 0,
        net_send_bytes: last.net?.send ?? 0,
        net_recvi_bytes: last.net?.recvi ?? 0,
        net_sendi_bytes: last.net?.sendi ?? 0,
        srs_sample_time: now,
        srs_recv_bytes: totals.recvBytes,
        srs_send_bytes: totals.sendBytes,
        conn_sys: sock ? sock.tcpAlloc + sock.tcpTw : 0,
        conn_sys_et: established ?? 0,
        conn_sys_tw: sock?.tcpTw ?? 0,
        conn_sys_udp: sock?.udp ?? 0,
        conn_srs: this.from.clientCount(),
        // Sluice's additions: kbit/s over the last sampling interval (SAMPLE_MS).
        net_recv_kbps: r.net.recv,
        net_send_kbps: r.net.send,
        net_recvi_kbps: r.net.recvi,
        net_sendi_kbps: r.net.sendi,
        srs_recv_kbps: r.srs.recv,
        srs_send_kbps: r.srs.send,
      },
    };
  }

  /** The `data` of /api/v1/rusages (getrusage(RUSAGE_SELF); ru_utime/ru_stime in whole seconds as SRS). */
  rusages(): Record<string, unknown> {
    const u = process.resourceUsage();
    return {
      ok: true,
      sample_time: Date.now(),
      ru_utime: Math.floor(u.userCPUTime / 1e6),
      ru_stime: Math.floor(u.systemCPUTime / 1e6),
      ru_maxrss: u.maxRSS,
      ru_ixrss: u.sharedMemorySize,
      ru_idrss: u.unsharedDataSize,
      ru_isrss: u.unsharedStackSize,
      ru_minflt: u.minorPageFault,
      ru_majflt: u.majorPageFault,
      ru_nswap: u.swappedOut,
      ru_inblock: u.fsRead,
      ru_oublock: u.fsWrite,
      ru_msgsnd: u.ipcSent,
      ru_msgrcv: u.ipcReceived,
      ru_nsignals: u.signalsCount,
      ru_nvcsw: u.voluntaryContextSwitches,
      ru_nivcsw: u.involuntaryContextSwitches,
    };
  }

  /** The `data` of /api/v1/self_proc_stats. */
  selfProcStats(): Record<string, unknown> {
    const stat = parseSelfStat(read("/proc/self/stat") ?? "");
    return { ok: stat !== null, sample_time: Date.now(), percent: this.rates.selfCpu, ...(stat ?? {}) };
  }

  /** The `data` of /api/v1/system_proc_stats. */
  systemProcStats(): Record<string, unknown> {
    const cpu = parseProcStat(read("/proc/stat") ?? "");
    return { ok: cpu !== null, sample_time: Date.now(), percent: this.rates.cpu, ...(cpu ?? {}) };
  }

  /** The `data` of /api/v1/meminfos. */
  meminfos(): Record<string, unknown> {
    const mem = memInfoOf(parseMeminfo(read("/proc/meminfo") ?? ""));
    if (!mem) return { ok: false, sample_time: Date.now() };
    return {
      ok: true,
      sample_time: Date.now(),
      percent_ram: mem.percent_ram,
      percent_swap: mem.percent_swap,
      MemActive: mem.MemActive,
      RealInUse: mem.RealInUse,
      NotInUse: mem.NotInUse,
      MemTotal: mem.MemTotal,
      MemFree: mem.MemFree,
      Buffers: mem.Buffers,
      Cached: mem.Cached,
      SwapTotal: mem.SwapTotal,
      SwapFree: mem.SwapFree,
    };
  }

  private netBytes(): NetBytes | null {
    const text = read("/proc/net/dev");
    if (text === null) return null;
    const ifaces = os.networkInterfaces();
    return splitNetBytes(parseNetDev(text), (name) =>
      (ifaces[name] ?? []).some((a) => isPublicAddress(a.address, a.family === "IPv6" ? "IPv6" : "IPv4")),
    );
  }

  private diskTicks(): Map<string, number> | null {
    const text = read("/proc/diskstats");
    if (text === null) return null;
    if (!this.disks) {
      let names: string[] = [];
      try {
        names = fs.readdirSync("/sys/block");
      } catch {
        // no sysfs: every device of diskstats counts
      }
      this.disks = new Set(names.filter((n) => !/^(loop|ram|zram)/.test(n)));
    }
    const all = parseDiskIoTicks(text);
    const disks = this.disks;
    if (disks.size === 0) return all;
    return new Map([...all].filter(([name]) => disks.has(name)));
  }
}
