/**
 * Starts the real server (`node bin/sluice.js -c <conf>`) on a free port for a test.
 *
 *   const server = await startServer();                    // default vhost, RTMP only
 *   const server = await startServer({ conf: 'http_api { enabled on; listen {{port:api}}; }' });
 *   server.ports.api                                        // the port chosen for {{port:api}}
 *
 * Tokens, in `conf` and `confText`: {{port}} the RTMP port, {{port:NAME}} another free port
 * (exposed as server.ports.NAME), {{dir}} a temp directory private to this server (pid file,
 * HLS/DVR output; removed by stop()).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect, freePort } from './ports.js';
import { collectLines, spawnTracked, stopProcess, tail, type TrackedProcess } from './procs.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StartServerOptions {
  /** Config text appended after the default config (top level, after the default vhost). */
  conf?: string;
  /** The whole config, replacing the default; must contain `listen {{port}};`. */
  confText?: string;
  /** Extra environment variables (added to the test process's environment). */
  env?: Record<string, string>;
  /** Extra command-line arguments after `-c <file>`. */
  args?: string[];
  /** Script run with node instead of bin/sluice.js (e.g. a stub in a harness test). */
  bin?: string;
  /** Extra node options before the script, e.g. ['--inspect']. */
  nodeArgs?: string[];
  /** How long to wait for the RTMP port to accept connections (default 15 s). */
  startTimeoutMs?: number;
}

export interface RunningServer {
  /** RTMP port. */
  readonly port: number;
  /** Ports allocated for {{port:NAME}} tokens. */
  readonly ports: Readonly<Record<string, number>>;
  /** Private temp directory ({{dir}}). */
  readonly dir: string;
  /** The config file written for this server, and its text. */
  readonly confFile: string;
  readonly confText: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** stdout and stderr lines, in arrival order (last 5000 kept). */
  readonly logs: string[];
  /** rtmp://127.0.0.1:PORT/app/stream */
  url(app: string, stream: string): string;
  /** Resolves with the first log line (already printed or future) matching `re`. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited, with its exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, SIGKILL after 3 s; then removes `dir` unless keepDir. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** SIGKILL now (a crash, as far as clients can tell). Keeps `dir`. */
  kill(): Promise<void>;
}

export function defaultConf(): string {
  return [
    'listen {{port}};',
    'daemon off;',
    'srs_log_tank console;',
    'pid {{dir}}/sluice.pid;',
    'vhost __defaultVhost__ {',
    '}',
    '',
  ].join('\n');
}

async function render(text: string, port: number, dir: string, ports: Record<string, number>): Promise<string> {
  for (const m of text.matchAll(/\{\{port:([A-Za-z0-9_-]+)\}\}/g)) {
    const name = m[1]!;
    if (ports[name] === undefined) ports[name] = await freePort();
  }
  return text
    .replace(/\{\{port\}\}/g, String(port))
    .replace(/\{\{port:([A-Za-z0-9_-]+)\}\}/g, (_, name: string) => String(ports[name]))
    .replace(/\{\{dir\}\}/g, dir);
}

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-test-'));
  const ports: Record<string, number> = {};
  const template = opts.confText ?? defaultConf() + (opts.conf ? `${opts.conf}\n` : '');
  const confText = await render(template, port, dir, ports);
  const confFile = path.join(dir, 'sluice.conf');
  await writeFile(confFile, confText);

  const logs: string[] = [];
  const waiters = new Set<(line: string) => void>();
  const echo = process.env['SLUICE_TEST_ECHO'] === '1';
  const entry: TrackedProcess = spawnTracked(
    process.execPath,
    [...(opts.nodeArgs ?? []), opts.bin ?? path.join(REPO_ROOT, 'bin', 'sluice.js'), '-c', confFile, ...(opts.args ?? [])],
    { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, name: `sluice :${port}` },
  );
  entry.logs = logs;
  const child = entry.proc;
  const onLine = (line: string): void => {
    if (echo) process.stderr.write(`[sluice :${port}] ${line}\n`);
    for (const w of waiters) w(line);
  };
  collectLines(child.stdout, logs, { onLine });
  collectLines(child.stderr, logs, { onLine });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    void entry.exited.then(() => resolve({ code: child.exitCode, signal: child.signalCode }));
  });
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });

  const describe = (why: string): Error =>
    new Error(`sluice on port ${port} ${why}\nconfig ${confFile}:\n${confText}\noutput:\n${tail(logs, 80)}`);

  // Wait for the RTMP port, or for the process to die.
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    if (spawnError) throw describe(`could not be spawned: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      await new Promise((r) => setTimeout(r, 50)); // let the last output arrive
      throw describe(`exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await canConnect(port, '127.0.0.1', 250)) break;
    if (Date.now() > deadline) {
      await stopProcess(entry, { graceMs: 1000 });
      throw describe(`did not accept connections within ${opts.startTimeoutMs ?? 15_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const server: RunningServer = {
    port,
    ports,
    dir,
    confFile,
    confText,
    pid: child.pid!,
    process: child,
    logs,
    url: (app, stream) => `rtmp://127.0.0.1:${port}/${app}/${stream}`,
    waitForLog(re, timeoutMs = 10_000) {
      const hit = logs.find((l) => re.test(l));
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise<string>((resolve, reject) => {
        const waiter = (line: string): void => {
          if (!re.test(line)) return;
          cleanup();
          resolve(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(describe(`printed no line matching ${re} within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        waiters.add(waiter);
      });
    },
    exited,
    async stop(stopOpts = {}) {
      await stopProcess(entry, { signal: 'SIGTERM', graceMs: 3000 });
      if (!stopOpts.keepDir) await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      await stopProcess(entry, { signal: 'SIGKILL', graceMs: 1000 });
    },
  };
  return server;
}
