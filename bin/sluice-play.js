#!/usr/bin/env node
// The `sluice-play` command: runs the compiled client tool (dist/, built by `npm install`).
// See docs/client.md.
import { main } from "../dist/cli/sluice-play.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`sluice-play: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
