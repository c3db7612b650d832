/**
 * One DVR file on disk: written under a temporary name (the final name + ".tmp", which no
 * player or script takes for a recording), in batches with one `writev` each, patched in
 * place at the end (durations), closed, and then renamed to its final name. Until that
 * rename nothing has the final name, so a file with the final name is always complete.
 *
 * Every operation runs on the recorder's promise chain (one per stream, as HLS does it),
 * in order, off the media path. An I/O error is logged once and ends the file: later writes
 * are skipped, the temporary file stays (readable up to what was written), no rename, no
 * on_dvr.
 *
 * The rename never replaces a file (SRS refuses to record over one, "DVR can't append to
 * exists path"): when the name is taken, "-1", "-2", ... go before the extension.
 */
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { log } from "../../core/logger.js";
import type { DvrPatch } from "./dvr-encoder.js";

/** Where the file's jobs run, in order (the recorder's chain). */
export interface DvrIoQueue {
  queue(job: () => Promise<void>): void;
}

const MAX_NAME_TRIES = 1000;

export class DvrFile {
  /** Bytes handed to write() and not on disk yet: the recorder bounds it. */
  backlog = 0;
  /** An I/O error ended the file. */
  failed = false;
  private fh: FileHandle | null = null;
  private tmp = "";
  private position = 0;

  constructor(
    private readonly io: DvrIoQueue,
    /** The name the file is opened for (its temporary name derives from it). */
    readonly target: string,
    /** For log lines: "dvr vhost/app/stream". */
    private readonly label: string,
    /** Directories already made, shared by a recorder's files. */
    private readonly dirs: Set<string>,
  ) {}

  /** The temporary name, once open. */
  get tempPath(): string {
    return this.tmp;
  }

  open(): void {
    this.run("open", async () => {
      await this.mkdirFor(this.target);
      // "wx": never write into someone else's file, a leftover of a crash included.
      for (let i = 0; ; i++) {
        const tmp = i === 0 ? `${this.target}.tmp` : `${this.target}.${i}.tmp`;
        try {
          this.fh = await fsp.open(tmp, "wx");
          this.tmp = tmp;
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST" || i >= MAX_NAME_TRIES) throw err;
        }
      }
    });
  }

  write(parts: Buffer[]): void {
    if (parts.length === 0) return;
    let n = 0;
    for (const p of parts) n += p.length;
    this.backlog += n;
    this.run("write", async () => {
      try {
        if (this.failed || this.fh === null) return;
        const { bytesWritten } = await this.fh.writev(parts, this.position);
        if (bytesWritten !== n) throw new Error(`short write: ${bytesWritten} of ${n} bytes`);
        this.position += n;
      } finally {
        this.backlog -= n;
      }
    });
  }

  patch(patches: readonly DvrPatch[]): void {
    if (patches.length === 0) return;
    this.run("patch", async () => {
      if (this.failed || this.fh === null) return;
      for (const p of patches) await this.fh.write(p.bytes, 0, p.bytes.length, p.offset);
    });
  }

  /**
   * Closes the file and renames it to `finalPath` (or the first free name after it); `done`
   * hears the name it got. A failed file is closed and left under its temporary name.
   */
  close(finalPath: string, done: (file: string, bytes: number) => void): void {
    this.io.queue(async () => {
      const fh = this.fh;
      this.fh = null;
      try {
        if (fh !== null) await fh.close();
      } catch (err) {
        this.fail("close", err);
      }
      if (this.failed || fh === null) return;
      try {
        await this.mkdirFor(finalPath);
        const file = await renameNoClobber(this.tmp, finalPath);
        done(file, this.position);
      } catch (err) {
        this.fail("rename", err);
      }
    });
  }

  private run(what: string, job: () => Promise<void>): void {
    this.io.queue(async () => {
      if (this.failed) return;
      try {
        await job();
      } catch (err) {
        this.fail(what, err);
      }
    });
  }

  private fail(what: string, err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const where = this.tmp !== "" ? ` (what was written stays in ${this.tmp})` : "";
    log.error(0, `${this.label}: ${what} ${this.tmp || this.target} failed: ${err instanceof Error ? err.message : String(err)}; this file ends here${where}`);
  }

  private async mkdirFor(file: string): Promise<void> {
    const dir = path.dirname(file);
    if (this.dirs.has(dir)) return;
    await fsp.mkdir(dir, { recursive: true });
    this.dirs.add(dir);
  }
}

/** `a/b.flv` -> `a/b-1.flv`. */
function numbered(file: string, n: number): string {
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}-${n}${ext}`;
}

/**
 * Renames `from` to `to`, or to the first of `to-1`, `to-2`, ... that does not exist. A hard
 * link fails with EEXIST rather than replacing, so no check-then-rename race; filesystems
 * without hard links get the check-then-rename.
 */
async function renameNoClobber(from: string, to: string): Promise<string> {
  for (let i = 0; i <= MAX_NAME_TRIES; i++) {
    const name = i === 0 ? to : numbered(to, i);
    try {
      await fsp.link(from, name);
      await fsp.unlink(from);
      return name;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS" && code !== "EXDEV") throw err;
      if (await exists(name)) continue;
      await fsp.rename(from, name);
      return name;
    }
  }
  throw new Error(`no free name after ${to} (${MAX_NAME_TRIES} taken)`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}
