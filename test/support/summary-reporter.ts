/**
 * Prints one machine-readable line as the very last line of a vitest run:
 *
 *   tests: N passed, N failed[, N skipped]
 *
 * CI reads it. "failed" counts failed tests, plus one for each test file that failed
 * without a failed test (it did not load, or a beforeAll/afterAll hook threw), plus one for
 * each unhandled error, so the line reports a failure whenever vitest exits non-zero
 * because of the tests. "skipped" counts skipped and todo tests and is shown only when
 * non-zero. This reporter never changes the exit code.
 */
import type { Reporter, TestModule, TestRunEndReason, Vitest } from 'vitest/node';

export function summaryLine(passed: number, failed: number, skipped: number): string {
  return `tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

export function countResults(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: number,
): { passed: number; failed: number; skipped: number } {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const mod of testModules) {
    let failedHere = 0;
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failedHere++;
      else if (state === 'skipped') skipped++;
      // 'pending': never ran (run interrupted); not counted.
    }
    if (failedHere === 0 && mod.state() === 'failed') failedHere = 1;
    failed += failedHere;
  }
  return { passed, failed: failed + unhandledErrors, skipped };
}

export default class SummaryReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  async onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    _reason: TestRunEndReason,
  ): Promise<void> {
    const { passed, failed, skipped } = countResults(testModules, unhandledErrors.length);
    // The default reporter prints its summary from onFinished, which vitest calls right
    // after onTestRunEnd; yield one macrotask so that this line comes after it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const line = summaryLine(passed, failed, skipped);
    if (this.vitest) this.vitest.logger.log(line);
    else process.stdout.write(`${line}\n`);
  }
}
