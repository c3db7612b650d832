#!/usr/bin/env node
// The `sluice-publish` command: runs the compiled client tool (dist/, built by `npm install`).
// See docs/client.md.
import { main } from "../dist/cli/sluice-publish.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`sluice-publish: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
