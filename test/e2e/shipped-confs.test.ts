/** Every config shipped in conf/ passes `sluice -t` with no warning. */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../support/server.js";

const confs = readdirSync(path.join(REPO_ROOT, "conf")).filter((f) => f.endsWith(".conf"));

describe("shipped configs", () => {
  it("ships the default and the per-feature examples", () => {
    expect(confs).toEqual(expect.arrayContaining(["sluice.conf", "rtmp.conf", "vhost.conf", "reload.conf"]));
  });

  for (const name of confs) {
    it(`conf/${name} is valid and needs no warning`, async () => {
      const r = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, ["bin/sluice.js", "-t", "-c", `conf/${name}`], { cwd: REPO_ROOT }, (err, stdout, stderr) =>
          resolve({ code: err ? 1 : 0, out: stdout + stderr }),
        ),
      );
      expect(r.out).toMatch(/test is successful/);
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(/\[Warn\]/);
    });
  }
});
