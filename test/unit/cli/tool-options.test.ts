/** The client tools' shared command line (src/cli/tool-options.ts). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../../../src/cli/exit-code.js';
import { parseToolArgs, type ToolSpec } from '../../../src/cli/tool-options.js';

const TOOL: ToolSpec = {
  name: 'sluice-x',
  usage: 'Usage: sluice-x <file> <rtmp-url>\nmore help\n',
  options: { loop: { type: 'boolean' } },
  positionals: 2,
  urlIndex: 1,
  countError: (n) => `two arguments, not ${n}`,
  defaultTimeoutSec: 7,
};

describe('parseToolArgs', () => {
  const stderr: string[] = [];
  const stdout: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    stderr.length = 0;
    stdout.length = 0;
  });
  const capture = () => {
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (stderr.push(String(s)), true));
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (stdout.push(String(s)), true));
  };

  it('reads the shared options, the tool\'s own, its positionals and the URL', () => {
    const r = parseToolArgs(TOOL, ['a.flv', 'rtmp://h:1936/live/s?t=1', '--loop', '--seconds', '2.5', '--handshake', 'simple', '-q']);
    expect(r).toMatchObject({
      common: { url: { host: 'h', port: 1936, app: 'live', stream: 's?t=1' }, seconds: 2.5, timeoutSec: 7, complexHandshake: false, quiet: true },
      values: { loop: true },
      positionals: ['a.flv', 'rtmp://h:1936/live/s?t=1'],
    });
  });

  it('answers --help and --version, and usage errors with the first usage line and exit code 2', () => {
    capture();
    expect(parseToolArgs(TOOL, ['--help'])).toBe(ExitCode.Ok);
    expect(stdout.join('')).toBe(TOOL.usage);
    expect(parseToolArgs(TOOL, ['only-one'])).toBe(ExitCode.Usage);
    expect(stderr.join('')).toBe('sluice-x: two arguments, not 1\nUsage: sluice-x <file> <rtmp-url>\n(sluice-x --help for the options)\n');
    for (const argv of [['a', 'http://x/y/z'], ['a', 'rtmp://h/live/s', '--timeout', '0'], ['a', 'rtmp://h/live/s', '--handshake', 'odd'], ['--nope']]) {
      expect(parseToolArgs(TOOL, argv)).toBe(ExitCode.Usage);
    }
  });
});
