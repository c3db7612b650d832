/**
 * vitest setupFiles entry (see vitest.config.ts): runs in every test file.
 *
 * - After each test: if it failed, print the recent output of the servers it used; then
 *   stop every process the test (or its beforeEach) started that is still running.
 * - After all tests of the file: stop whatever is left (started in beforeAll, etc.).
 * procs.ts also SIGKILLs survivors when the worker process exits.
 */
import { afterAll, afterEach } from 'vitest';
import { forget, killAll, killTestScoped, processesOf, tail } from './procs.js';

afterEach(async (ctx) => {
  const id = ctx.task.id;
  if (ctx.task.result?.state === 'fail') {
    for (const p of processesOf(id)) {
      if (!p.logs || p.logs.length === 0) continue;
      const status =
        p.proc.exitCode !== null || p.proc.signalCode !== null
          ? `exited (code ${p.proc.exitCode}, signal ${p.proc.signalCode})`
          : 'running';
      console.error(`[harness] ${p.name} (pid ${p.proc.pid}, ${status}), last output:\n${tail(p.logs, 60)}`);
    }
  }
  await killTestScoped(id);
  forget(id);
});

afterAll(async () => {
  await killAll();
  forget();
});
