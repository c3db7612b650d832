/**
 * CPU time of a child process: user + system seconds of the child (every thread of it), read
 * by bash's `time` keyword from getrusage(RUSAGE_CHILDREN) with millisecond resolution (GNU
 * /usr/bin/time prints only hundredths). Wall time is reported but not used for the figures:
 * other jobs share this machine.
 */
import { spawnSync } from "node:child_process";

export interface ChildCpu {
  user: number;
  sys: number;
  /** user + sys, seconds. */
  cpu: number;
  wall: number;
}

const MARK = "SLUICE_CHILD_CPU";

export function timeChild(cmd: string, args: readonly string[]): ChildCpu {
  const script = `TIMEFORMAT='${MARK} %3U %3S %3R'; time "$@"`;
  const r = spawnSync("bash", ["-c", script, "bash", cmd, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  const lines = r.stderr.split("\n");
  const markLine = lines.findIndex((l) => l.startsWith(`${MARK} `));
  const rest = lines.filter((l, i) => i !== markLine && l.trim() !== "").join("\n");
  if (r.status !== 0 || markLine < 0 || rest !== "") {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${rest}`);
  }
  const [user, sys, wall] = lines[markLine]!.slice(MARK.length + 1).split(" ").map(Number) as [number, number, number];
  return { user, sys, cpu: user + sys, wall };
}
