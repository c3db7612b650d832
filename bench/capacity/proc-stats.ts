/**
 * CPU and memory of processes and of the host, read from /proc (Linux). CPU is utime +
 * stime in clock ticks (100 per second on Linux), reported as % of one core over a window.
 */
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

export function processTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  return Number(fields[11]) + Number(fields[12]);
}

export function processRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Busy and total ticks of all cores together. */
export function hostTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export interface WindowStats {
  /** % of one core, per labelled process. */
  cpu: Record<string, number>;
  /** Peak and mean RSS in MB, per labelled process. */
  rssPeak: Record<string, number>;
  rssMean: Record<string, number>;
  /** Whole host busy %, of all cores (100 = every core busy). */
  hostBusy: number;
  seconds: number;
  /** Labels of the processes that exited during the window (their figures stop there). */
  exited: string[];
}

/** processTicks, or undefined once the process is gone. */
function ticksOrGone(pid: number): number | undefined {
  try {
    return processTicks(pid);
  } catch {
    return undefined;
  }
}

/** Samples the processes once a second for `seconds` and returns the window's figures. */
export async function sampleWindow(pids: Record<string, number>, seconds: number): Promise<WindowStats> {
  const t0 = performance.now();
  const startTicks: Record<string, number> = {};
  const lastTicks: Record<string, number> = {};
  const exited = new Set<string>();
  for (const [k, pid] of Object.entries(pids)) {
    const t = ticksOrGone(pid);
    if (t === undefined) exited.add(k);
    startTicks[k] = lastTicks[k] = t ?? 0;
  }
  const host0 = hostTicks();
  const rssPeak: Record<string, number> = {};
  const rssSum: Record<string, number> = {};
  let samples = 0;
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    samples++;
    for (const [k, pid] of Object.entries(pids)) {
      if (exited.has(k)) continue;
      let rss: number;
      try {
        rss = processRssMb(pid);
        lastTicks[k] = processTicks(pid);
      } catch {
        exited.add(k);
        continue;
      }
      rssPeak[k] = Math.max(rssPeak[k] ?? 0, rss);
      rssSum[k] = (rssSum[k] ?? 0) + rss;
    }
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu: Record<string, number> = {};
  for (const [k, pid] of Object.entries(pids)) {
    const end = exited.has(k) ? undefined : ticksOrGone(pid);
    if (end === undefined) exited.add(k);
    cpu[k] = (((end ?? lastTicks[k]!) - startTicks[k]!) / TICKS_PER_SECOND / elapsed) * 100;
  }
  const host1 = hostTicks();
  const rssMean: Record<string, number> = {};
  for (const k of Object.keys(pids)) rssMean[k] = (rssSum[k] ?? 0) / Math.max(1, samples);
  return {
    cpu,
    rssPeak,
    rssMean,
    hostBusy: ((host1.busy - host0.busy) / Math.max(1, host1.total - host0.total)) * 100,
    seconds: elapsed,
    exited: [...exited],
  };
}
