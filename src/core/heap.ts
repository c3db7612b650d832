/**
 * A cap on V8's young generation. V8 doubles the new space's semi-spaces (up to 16 MB
 * each: 32 MB of RSS) as long as objects keep surviving scavenges, which the GOP cache's
 * messages do by design (they live for a GOP). Measured at 1800 players (docs/performance.md,
 * "Memory"): semi-spaces of 4 MB cost the same CPU as 16 MB and 18 MB less RSS; 1 MB (no
 * growth at all) cost about a point of a core more.
 *
 * Node sets the cap only from its command line (`--max-semi-space-size`), which a server
 * started as `node bin/sluice.js` or `npm start` does not get; but V8 reads the growth
 * factor each time it grows the new space. So after each GC, once the new space has
 * reached the cap, growth is turned off. Given `--max-semi-space-size` (node's command
 * line or NODE_OPTIONS), V8's own cap applies and this does nothing.
 */
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";

/** Both semi-spaces together, as V8's heap statistics count the new space. */
export const NEW_SPACE_CAP_BYTES = 8 * 1024 * 1024;

function semiSpaceFlagGiven(): boolean {
  const flags = [...process.execArgv, ...(process.env["NODE_OPTIONS"] ?? "").split(/\s+/)];
  return flags.some((f) => /^--max[-_]semi[-_]space[-_]size/.test(f));
}

/** Stops the new space's growth once it reaches `capBytes`. Returns a function that stops watching. */
export function capNewSpace(capBytes = NEW_SPACE_CAP_BYTES): () => void {
  if (semiSpaceFlagGiven()) return () => {};
  const newSpace = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
  const observer = new PerformanceObserver(() => {
    if (newSpace() < capBytes) return;
    v8.setFlagsFromString("--semi-space-growth-factor=1");
    observer.disconnect();
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}
