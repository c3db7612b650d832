/** The command line, as SRS's: -v, -h, -t -c, -c; config problems reported with file:line. */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT, startServer } from "../support/server.js";

function sluice(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, "bin", "sluice.js"), ...args], { cwd: REPO_ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("sluice command line", () => {
  it("prints the version with -v and the usage with -h", async () => {
    const v = await sluice(["-v"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await sluice(["-h"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Usage: sluice/);
  });

  it("checks the shipped default config with -t", async () => {
    const r = await sluice(["-t", "-c", "conf/sluice.conf"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/test is successful/);
  });

  it("fails -t on a bad config with file:line and what was expected", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-cli-"));
    try {
      const file = path.join(dir, "bad.conf");
      await writeFile(file, "listen 1935;\nchunk_size lots;\n");
      const r = await sluice(["-t", "-c", file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file}:2:`);
      expect(r.stderr).toMatch(/chunk_size/);
      const typo = path.join(dir, "typo.conf");
      await writeFile(typo, "listen 1935;\nmax_conections 10;\n");
      const t = await sluice(["-t", "-c", typo]);
      expect(t.code).toBe(1);
      expect(t.stderr).toMatch(/max_connections/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("starts with an SRS config that uses directives not implemented yet, warning once for each", async () => {
    const server = await startServer({
      conf: [
        "http_api { enabled on; listen 1985; }",
        "vhost other.com { hls { enabled on; hls_fragment 10; } }",
      ].join("\n"),
    });
    try {
      await server.waitForLog(/http_api.*not implemented yet/, 5000);
      expect(server.logs.filter((l) => /http_api.*not implemented yet/.test(l))).toHaveLength(1);
      expect(server.logs.some((l) => /hls.*not implemented yet/.test(l))).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it("refuses to start when another live instance holds the pid file", async () => {
    const first = await startServer();
    try {
      const pidFile = path.join(first.dir, "sluice.pid");
      const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-cli-"));
      const conf = path.join(dir, "second.conf");
      await writeFile(conf, `listen 127.0.0.1:19350;\ndaemon off;\npid ${pidFile};\n`);
      const r = await sluice(["-c", conf]);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/another instance/);
      await rm(dir, { recursive: true, force: true });
    } finally {
      await first.stop();
    }
  });
});
