#!/usr/bin/env node
// The `sluice-load` command: runs the native load generator (build/Release/sluice_load,
// built by `npm install`) with the same arguments, and stands in for it: stdio inherited,
// SIGINT/SIGTERM forwarded, its exit status returned. See docs/load.md.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const exe = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "build", "Release", "sluice_load");
if (!existsSync(exe)) {
  process.stderr.write(`sluice-load: ${exe} is missing; build it with \`npm install\` (node-gyp rebuild)\n`);
  process.exit(3);
}

const child = spawn(exe, process.argv.slice(2), { stdio: "inherit" });
const forward = (signal) => {
  // A terminal's Ctrl-C reaches the child as well (same process group). The duplicate is
  // harmless: sluice-load stops once, and a second signal only cuts its last short wait.
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
process.on("SIGINT", () => forward("SIGINT"));
process.on("SIGTERM", () => forward("SIGTERM"));
child.on("error", (err) => {
  process.stderr.write(`sluice-load: cannot run ${exe}: ${err.message}\n`);
  process.exit(3);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // Die of the same signal, so that our parent sees what happened.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
