#!/usr/bin/env node
// The `sluice` command: runs the compiled server (dist/, built by `npm install`).
import { main } from "../dist/main.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`sluice: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
