/**
 * The `pid` file, as SRS keeps it: written at start; a second instance on the same file
 * refuses to start while the process named in it is alive.
 */
import fs from "node:fs";
import path from "node:path";
import { SluiceError } from "../core/errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function writePidFile(file: string): void {
  const abs = path.resolve(file);
  try {
    const old = Number.parseInt(fs.readFileSync(abs, "utf8").trim(), 10);
    if (Number.isInteger(old) && old > 0 && old !== process.pid && alive(old)) {
      throw new SluiceError("ERR_SERVER_PID", `pid file ${file} names process ${old}, which is running: another instance holds it`);
    }
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    // No file or unreadable: take it.
  }
  try {
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, `${process.pid}\n`);
  } catch (err) {
    throw new SluiceError("ERR_SERVER_PID", `cannot write pid file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function removePidFile(file: string): void {
  try {
    const abs = path.resolve(file);
    if (fs.readFileSync(abs, "utf8").trim() === String(process.pid)) fs.unlinkSync(abs);
  } catch {
    // Already gone.
  }
}
