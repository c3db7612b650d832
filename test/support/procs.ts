/**
 * Registry of every child process the harness starts (servers, ffmpeg, ffprobe, rtmpdump).
 *
 * A child spawned while a test (or its beforeEach) is running is "test-scoped": the
 * afterEach hook in setup.ts kills it when that test ends, pass or fail. A child spawned
 * elsewhere (beforeAll, module scope) is killed by the afterAll hook in setup.ts. Whatever
 * is still alive when the worker exits or is signalled gets SIGKILL, so no test leaves
 * orphans behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { getCurrentTest } from 'vitest/suite';

export interface TrackedProcess {
  readonly proc: ChildProcess;
  /** Short label for messages, e.g. "ffmpeg publish" or "sluice :1935". */
  readonly name: string;
  /** Id of the test that started it, or undefined when started outside a test. */
  readonly testId: string | undefined;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<void>;
  /** Optional: last lines of output, printed when the owning test fails. */
  logs?: string[];
}

const live = new Set<TrackedProcess>();
/** Every tracked process (running or not) until setup.ts forgets it, for failure reports. */
const history: TrackedProcess[] = [];

function currentTestId(): string | undefined {
  try {
    return getCurrentTest()?.id;
  } catch {
    return undefined;
  }
}

function isRunning(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/** Adds an already spawned process to the registry. */
export function track(proc: ChildProcess, name: string): TrackedProcess {
  let entry!: TrackedProcess;
  const exited = new Promise<void>((resolve) => {
    if (!isRunning(proc)) return resolve();
    proc.once('exit', () => resolve());
    // 'error' without 'exit' happens when the spawn itself fails (ENOENT).
    proc.on('error', () => {
      if (proc.pid === undefined) resolve();
    });
  }).finally(() => live.delete(entry));
  entry = { proc, name, testId: currentTestId(), exited };
  live.add(entry);
  history.push(entry);
  return entry;
}

/** spawn() + track(). stdio defaults to pipes, stdin ignored. */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { name?: string } = {},
): TrackedProcess {
  const { name, ...spawnOptions } = options;
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  return track(proc, name ?? command);
}

/**
 * Stops a process: `signal` first (SIGTERM by default), SIGKILL after `graceMs`.
 * Resolves when it has exited.
 */
export async function stopProcess(
  entry: TrackedProcess,
  opts: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<void> {
  const { proc } = entry;
  if (!isRunning(proc) || proc.pid === undefined) return entry.exited;
  try {
    proc.kill(opts.signal ?? 'SIGTERM');
  } catch {
    /* already gone */
  }
  const timer = setTimeout(() => {
    if (isRunning(proc)) proc.kill('SIGKILL');
  }, opts.graceMs ?? 3000);
  try {
    await entry.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Live tracked processes, optionally only those matching `filter`. */
export function liveProcesses(filter?: (p: TrackedProcess) => boolean): TrackedProcess[] {
  return [...live].filter((p) => isRunning(p.proc) && (!filter || filter(p)));
}

/** Stops (SIGTERM, then SIGKILL after 3 s) every live process matching `filter`. */
export async function killAll(filter?: (p: TrackedProcess) => boolean): Promise<string[]> {
  const victims = liveProcesses(filter);
  await Promise.all(victims.map((p) => stopProcess(p)));
  return victims.map((p) => p.name);
}

/** Stops what the given test started (used by setup.ts's afterEach). */
export function killTestScoped(testId: string): Promise<string[]> {
  return killAll((p) => p.testId === testId);
}

/** Processes started by the test `testId` plus those started outside any test. */
export function processesOf(testId: string): TrackedProcess[] {
  return history.filter((p) => p.testId === testId || p.testId === undefined);
}

/** Drops finished history: the test's own entries, or (no argument) everything. */
export function forget(testId?: string): void {
  for (let i = history.length - 1; i >= 0; i--) {
    const p = history[i]!;
    if (testId === undefined || p.testId === testId) history.splice(i, 1);
  }
}

function killAllSync(): void {
  for (const p of live) {
    if (isRunning(p.proc)) {
      try {
        p.proc.kill('SIGKILL');
      } catch {
        /* ignore */
      }
    }
  }
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllSync();
    // Nobody else handles it: restore the default action (terminate).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

/**
 * Splits a child's output stream into lines, appends them to `lines` (keeping the last
 * `max`), and calls `onLine` for each.
 */
export function collectLines(
  stream: NodeJS.ReadableStream | null | undefined,
  lines: string[],
  opts: { max?: number; onLine?: (line: string) => void } = {},
): void {
  if (!stream) return;
  const max = opts.max ?? 5000;
  let rest = '';
  const push = (line: string): void => {
    lines.push(line);
    if (lines.length > max) lines.splice(0, lines.length - max);
    opts.onLine?.(line);
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    // ffmpeg and rtmpdump redraw progress with \r: treat it as a line end too.
    const parts = (rest + chunk).split(/\r\n|\r|\n/);
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.length > 0) push(p);
  });
  stream.on('end', () => {
    if (rest.length > 0) push(rest);
    rest = '';
  });
}

/** The last `n` lines, indented, for error messages. */
export function tail(lines: readonly string[], n = 40): string {
  const shown = lines.slice(-n);
  const skipped = lines.length - shown.length;
  return (skipped > 0 ? `  ... (${skipped} earlier lines)\n` : '') + shown.map((l) => `  | ${l}`).join('\n');
}
