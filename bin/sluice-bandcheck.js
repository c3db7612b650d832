#!/usr/bin/env node
// The `sluice-bandcheck` command: runs the compiled client tool (dist/, built by `npm install`).
// See docs/bandcheck.md.
import { main } from "../dist/cli/sluice-bandcheck.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`sluice-bandcheck: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
