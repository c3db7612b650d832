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
        "rtc_server { enabled on; listen 8000; }",
        "vhost other.com { rtc { enabled on; } }",
      ].join("\n"),
    });
    try {
      await server.waitForLog(/rtc_server.*not implemented yet/, 5000);
      expect(server.logs.filter((l) => /rtc_server.*not implemented yet/.test(l))).toHaveLength(1);
      expect(server.logs.some((l) => /"rtc" is not implemented yet/.test(l))).toBe(true);
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

describe("sluice -t prints the effective config", () => {
  it("renders every setting with its default, each vhost's play settings, and reads back to the same config", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sluice-cli-"));
    try {
      const file = path.join(dir, "effective.conf");
      await writeFile(
        file,
        [
          "listen 127.0.0.1:19351;",
          "daemon off;",
          "vhost a.com {",
          "    chunk_size 4096;",
          "    play { gop_cache off; queue_length 5; mw_latency 100; }",
          "    security { enabled on; allow play 10.0.0.0/8; }",
          "}",
          "",
        ].join("\n"),
      );
      const r = await sluice(["-t", "-c", file]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/test is successful\n$/);
      const text = r.stdout.replace(/^sluice:.*\n/gm, "");
      expect(text).toMatch(/^listen\s+127\.0\.0\.1:19351;$/m);
      expect(text).toMatch(/^chunk_size\s+60000;$/m);
      expect(text).toMatch(/^max_connections\s+1000;$/m);
      expect(text).toMatch(/^daemon\s+off;$/m);
      expect(text).toMatch(/^pid\s+\.\/objs\/srs\.pid;$/m);
      expect(text).toMatch(/^srs_log_tank\s+console;$/m);
      expect(text).toMatch(/^srs_log_level\s+trace;$/m);
      const vhost = text.slice(text.indexOf("vhost a.com {"));
      expect(vhost).toMatch(/^ {4}chunk_size\s+4096;$/m);
      expect(vhost).toMatch(/^ {4}play \{\n(?: {8}.*\n)*? {8}gop_cache\s+off;$/m);
      expect(vhost).toMatch(/^ {8}gop_cache_max_frames\s+2500;$/m);
      expect(vhost).toMatch(/^ {8}queue_length\s+5;$/m);
      expect(vhost).toMatch(/^ {8}time_jitter\s+full;$/m);
      expect(vhost).toMatch(/^ {8}mw_latency\s+100;$/m);
      expect(vhost).toMatch(/^ {8}allow play 10\.0\.0\.0\/8;/m);
      expect(text).toMatch(/^vhost __defaultVhost__ \{$/m);

      // The printed config is itself a valid config with the same effective settings.
      const again = path.join(dir, "again.conf");
      await writeFile(again, text);
      const r2 = await sluice(["-t", "-c", again]);
      expect(r2.code).toBe(0);
      expect(r2.stdout + r2.stderr).not.toMatch(/\[Warn\]/);
      const body = (s: string) => s.replace(/^(sluice:|#).*\n/gm, "").replace(/ #.*$/gm, "");
      expect(body(r2.stdout)).toBe(body(r.stdout));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
