/**
 * `daemon on`, as SRS: the process started from the shell re-spawns itself detached (its own
 * session, no terminal), waits until the child is running (pid file written, listening) or
 * has failed, and exits. The child runs the server as `daemon off` would.
 *
 * The child is the same script with the same arguments plus DAEMON_CHILD_ARG; it reports
 * over an IPC channel that it closes at once (so nothing ties it to the parent afterwards).
 * Its stdout/stderr go to the log file with `srs_log_tank file` (a crash's stack trace lands
 * there), else nowhere.
 */
import { spawn, type StdioOptions } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** Internal: marks the detached child; not in the usage text. */
export const DAEMON_CHILD_ARG = "--sluice-daemon-child";

type ChildMessage = { sluice: "ready" } | { sluice: "failed"; reason: string };

export interface DaemonOptions {
  /** The command-line arguments of this process (without node and the script). */
  argv: readonly string[];
  logTank: "console" | "file";
  logFile: string;
  pidFile: string;
  /** How long to wait for the child's word; default 5000 ms. */
  timeoutMs?: number;
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(path.resolve(file), "utf8").trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** In the parent: starts the detached child and resolves with this process's exit code. */
export async function daemonize(opts: DaemonOptions): Promise<number> {
  if (opts.logTank === "console") {
    process.stderr.write(
      "sluice: warning: daemon on with srs_log_tank console: the daemon's log goes nowhere; " +
        "set srs_log_tank file (and srs_log_file), or daemon off / --foreground to keep the console\n",
    );
  }
  let logFd: number | undefined;
  if (opts.logTank === "file") {
    try {
      fs.mkdirSync(path.dirname(path.resolve(opts.logFile)), { recursive: true });
      logFd = fs.openSync(opts.logFile, "a");
    } catch (err) {
      process.stderr.write(`sluice: cannot open the log file ${opts.logFile}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const out = logFd ?? "ignore";
  const stdio: StdioOptions = ["ignore", out, out, "ipc"];
  // Debugger flags would make the child fight over the inspector port.
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--inspect"));
  const script = process.argv[1];
  if (!script) {
    process.stderr.write("sluice: daemon on: cannot tell which script to re-spawn; use --foreground\n");
    return 1;
  }
  const child = spawn(process.execPath, [...execArgv, script, ...opts.argv, DAEMON_CHILD_ARG], {
    detached: true,
    stdio,
    cwd: process.cwd(),
    env: process.env,
  });
  if (logFd !== undefined) fs.closeSync(logFd);

  const timeoutMs = opts.timeoutMs ?? 5000;
  type Outcome = { ok: true } | { ok: false; reason: string };
  const outcome = await new Promise<Outcome>((resolve) => {
    const done = (r: Outcome) => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("error", onError);
      child.off("exit", onExit);
      resolve(r);
    };
    const timer = setTimeout(() => {
      // Slow start: accept it if the child at least holds the pid file.
      if (child.pid !== undefined && readPid(opts.pidFile) === child.pid) done({ ok: true });
      else done({ ok: false, reason: `it did not start within ${timeoutMs} ms` });
    }, timeoutMs);
    const onMessage = (m: ChildMessage) => {
      if (m?.sluice === "ready") done({ ok: true });
      else if (m?.sluice === "failed") done({ ok: false, reason: m.reason });
    };
    const onError = (err: Error) => done({ ok: false, reason: err.message });
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      done({ ok: false, reason: `it exited during start-up (${signal ? `signal ${signal}` : `code ${code}`})` });
    child.on("message", onMessage);
    child.on("error", onError);
    child.on("exit", onExit);
  });
  if (child.connected) child.disconnect();
  child.unref();

  if (!outcome.ok) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
    const see = opts.logTank === "file" ? `; see ${opts.logFile}` : "";
    process.stderr.write(`sluice: the daemon failed to start: ${outcome.reason}${see}\n`);
    return 1;
  }
  process.stdout.write(`sluice: running in the background as pid ${child.pid} (pid file ${opts.pidFile})\n`);
  return 0;
}

/** In the child: tells the parent (if it is still waiting) and closes the channel. */
export function notifyDaemonParent(message: ChildMessage): Promise<void> {
  const send = process.send?.bind(process);
  if (!send || !process.connected) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const finish = () => {
      if (process.connected) process.disconnect();
      resolve();
    };
    try {
      send(message, undefined, {}, finish);
    } catch {
      finish();
    }
  });
}
