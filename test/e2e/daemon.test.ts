/** `daemon on`: the command returns at once and a detached child serves RTMP, as SRS. */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../support/ports.js";
import { REPO_ROOT } from "../support/server.js";

function sluice(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, "bin", "sluice.js"), ...args], { cwd: REPO_ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An RTMP handshake: C0+C1 out, S0 (version 3) + S1 + S2 back. */
function rtmpHandshake(port: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no RTMP handshake from port ${port} within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.once("error", (err) => finish(err));
    socket.once("connect", () => socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 7)])));
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 1 + 1536 * 2) {
        finish(got[0] === 3 ? undefined : new Error(`S0 is ${got[0]}, not 3`));
      }
    });
  });
}

describe("daemon on", () => {
  it("detaches: exits 0 at once, the pid file names a live server on the port that logs to its file; SIGTERM removes the pid file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-daemon-"));
    const port = await freePort();
    const pidFile = path.join(dir, "sluice.pid");
    const logFile = path.join(dir, "logs", "sluice.log");
    const conf = path.join(dir, "daemon.conf");
    await writeFile(
      conf,
      [`listen 127.0.0.1:${port};`, "daemon on;", "srs_log_tank file;", `srs_log_file ${logFile};`, `pid ${pidFile};`, ""].join("\n"),
    );
    let pid = 0;
    try {
      const r = await sluice(["-c", conf]);
      if (existsSync(pidFile)) pid = Number.parseInt((await readFile(pidFile, "utf8")).trim(), 10);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.ms).toBeLessThan(8000);
      expect(r.stderr).not.toMatch(/not implemented/);
      expect(pid).toBeGreaterThan(0);
      expect(alive(pid)).toBe(true);
      expect(r.stdout).toContain(`pid ${pid}`);
      await rtmpHandshake(port);
      const log = await readFile(logFile, "utf8");
      expect(log).toMatch(new RegExp(`\\[${pid}\\].*rtmp listen at tcp://127\\.0\\.0\\.1:${port}`));

      process.kill(pid, "SIGTERM");
      await until("the daemon to exit", () => !alive(pid));
      await until("the pid file to be removed", () => !existsSync(pidFile), 2000);
      expect(await readFile(logFile, "utf8")).toMatch(/SIGTERM: stopping gracefully/);
    } finally {
      if (pid > 0 && alive(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports the child's failure and exits 1 (another instance holds the pid file); --foreground stays attached", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-daemon-"));
    const port = await freePort();
    const pidFile = path.join(dir, "sluice.pid");
    const conf = path.join(dir, "daemon.conf");
    // The test process is alive: the pid file names it, so the child must refuse.
    await writeFile(pidFile, `${process.pid}\n`);
    await writeFile(conf, [`listen 127.0.0.1:${port};`, "daemon on;", "srs_log_tank console;", `pid ${pidFile};`, ""].join("\n"));
    try {
      const r = await sluice(["-c", conf]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/srs_log_tank console/);
      expect(r.stderr).toMatch(/daemon failed to start: .*another instance/);
      const f = await sluice(["--foreground", "-c", conf]);
      expect(f.code).toBe(1);
      expect(f.stdout + f.stderr).toMatch(/another instance/);
      expect(f.stderr).not.toMatch(/daemon/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
