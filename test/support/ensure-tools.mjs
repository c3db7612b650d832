#!/usr/bin/env node
// `npm test`'s pretest: makes sure the external tools the end-to-end tests run exist.
// Silent when they do. When some are missing: as root, installs them with apt-get;
// otherwise prints the command to run and exits 1.
//
// The list of required tools is TOOLS below; add a row to require another one. A row with
// `path` is checked at that path, otherwise on $PATH. Chromium is checked at the path
// test/support/browser.ts launches (Debian's `chromium` package); a row with `file` only
// has to be readable (a module, not a program).
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const TOOLS = [
  { bin: 'ffmpeg', pkg: 'ffmpeg' },
  { bin: 'ffprobe', pkg: 'ffmpeg' },
  { bin: 'rtmpdump', pkg: 'rtmpdump' },
  { bin: 'chromium', path: '/usr/bin/chromium', pkg: 'chromium' },
  // nginx-rtmp, for the client tools' interop tests (test/e2e/rtmp-client-tools.test.ts).
  { bin: 'nginx', path: '/usr/sbin/nginx', pkg: 'nginx-light' },
  { bin: 'ngx_rtmp_module.so', path: '/usr/lib/nginx/modules/ngx_rtmp_module.so', pkg: 'libnginx-mod-rtmp', file: true },
];

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isReadable(file) {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function found(tool) {
  if (tool.path) return tool.file ? isReadable(tool.path) : isExecutable(tool.path);
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.some((dir) => isExecutable(path.join(dir, tool.bin)));
}

function missingPackages(tools) {
  return [...new Set(tools.filter((t) => !found(t)).map((t) => t.pkg))];
}

function run(cmd, args) {
  process.stdout.write(`ensure-tools: $ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed with exit code ${r.status ?? r.signal}`);
}

const packages = missingPackages(TOOLS);
if (packages.length === 0) process.exit(0);

const missing = TOOLS.filter((t) => !found(t)).map((t) => t.path ?? t.bin);
const installArgs = ['install', '-y', '--no-install-recommends', ...packages];
process.stdout.write(`ensure-tools: missing ${missing.join(', ')} (needed by the end-to-end tests)\n`);

if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
  process.stderr.write(`ensure-tools: install them with:\n\n  sudo apt-get ${installArgs.join(' ')}\n\n`);
  process.exit(1);
}

try {
  run('apt-get', ['update']);
  run('apt-get', installArgs);
} catch (err) {
  process.stderr.write(`ensure-tools: ${err.message}\n`);
  process.exit(1);
}
const still = TOOLS.filter((t) => !found(t)).map((t) => t.path ?? t.bin);
if (still.length > 0) {
  process.stderr.write(`ensure-tools: still missing after apt-get install: ${still.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write('ensure-tools: installed.\n');
