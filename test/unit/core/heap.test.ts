/**
 * capNewSpace (src/core/heap.ts) in a child Node process (V8 flags are process-wide): a
 * workload whose objects survive scavenges, as the GOP cache's do, grows the new space to
 * V8's 32 MB without the cap and stays near the cap with it.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
const MB = 1024 * 1024;

function newSpaceAfterWorkload(cap: boolean, execArgv: string[] = []): number {
  const script = `
    import v8 from 'node:v8';
    import { capNewSpace } from ${JSON.stringify(path.join(REPO, 'dist', 'core', 'heap.js'))};
    if (${cap}) capNewSpace(${4 * MB});
    const keep = [];
    let round = 0;
    const step = () => {
      // 20k objects a round (a loop turn of a busy server), each living for 50 rounds: most survive a scavenge.
      keep.push(Array.from({ length: 20_000 }, (_, i) => ({ i, round })));
      if (keep.length > 50) keep.shift();
      if (++round < 600) return setImmediate(step);
      const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(ns.space_size));
    };
    step();
  `;
  const r = spawnSync(process.execPath, [...execArgv, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout);
}

describe('capNewSpace', () => {
  it('stops the young generation growing past the cap', () => {
    const free = newSpaceAfterWorkload(false);
    const capped = newSpaceAfterWorkload(true);
    expect(free).toBeGreaterThanOrEqual(16 * MB);
    // At most one doubling past the cap can happen before the GC observer runs.
    expect(capped).toBeLessThanOrEqual(8 * MB + MB);
  }, 60_000);

  it("leaves node's own --max-semi-space-size alone", () => {
    expect(newSpaceAfterWorkload(true, ['--max-semi-space-size=16'])).toBeGreaterThanOrEqual(16 * MB);
  }, 60_000);
});
