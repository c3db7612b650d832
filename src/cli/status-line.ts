/**
 * What the client tools print on stderr: notes (each onStatus code, the connection) that
 * stay on their own lines, a progress line (rewritten in place on a terminal, printed every
 * few seconds into a pipe or file), and errors, which --quiet does not hide.
 */
export interface StatusLineOptions {
  quiet: boolean;
  /** Where to print; process.stderr by default. */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Between two progress lines when the output is not a terminal; default 5 s. */
  pipeIntervalMs?: number;
}

export class StatusLine {
  private readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly tty: boolean;
  private progressShown = false;
  private lastPipeLine = 0;

  constructor(
    private readonly tool: string,
    private readonly opts: StatusLineOptions,
  ) {
    this.out = opts.out ?? process.stderr;
    this.tty = this.out.isTTY === true;
  }

  note(text: string): void {
    if (this.opts.quiet) return;
    this.line(text);
  }

  progress(text: string): void {
    if (this.opts.quiet) return;
    if (this.tty) {
      this.out.write(`\r${this.tool}: ${text}\x1b[K`);
      this.progressShown = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastPipeLine < (this.opts.pipeIntervalMs ?? 5000)) return;
    this.lastPipeLine = now;
    this.line(text);
  }

  error(text: string): void {
    this.line(`error: ${text}`);
  }

  private line(text: string): void {
    if (this.progressShown) {
      this.out.write("\r\x1b[K");
      this.progressShown = false;
    }
    this.out.write(`${this.tool}: ${text}\n`);
  }
}

/** "1.2 MB", "830 kB", "512 B". */
export function formatBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

/** How a client connected, for the first note: the handshake the server answered, chunk sizes. */
export function describeConnection(host: string, port: number, scheme: number, serverChunkSize: number): string {
  const handshake = scheme >= 0 ? `complex handshake (digest scheme ${scheme})` : "simple handshake";
  return `connected to ${host}:${port}, ${handshake}, server chunk size ${serverChunkSize}`;
}
