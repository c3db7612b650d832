import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { HttpRequest, HttpResponse } from "@trufflesuite/uws-js-unofficial";
import { log } from "../core/logger.js";
import { cacheControlOf, contentTypeOf } from "./mime.js";
import { parseRange } from "./range.js";
import { isInside, resolveStaticPath } from "./static-path.js";
import { writeCors, type HttpOptions } from "./cors.js";

/** Files up to this size are read whole and sent with one end(); larger ones are streamed. */
const SMALL_FILE = 256 * 1024;
/** Read size when streaming a large file; at most one chunk per response is in memory. */
const CHUNK = 64 * 1024;

/** The uWS response and what the handler knows of it; `aborted` is set by onAborted. */
interface Pending {
  res: HttpResponse;
  aborted: boolean;
  /** Set while a stream waits for onWritable, so that an abort ends the wait. */
  wake?: () => void;
}

/**
 * The static file handler for `options.dir`: GET and HEAD (OPTIONS and CORS are the
 * server's, see HttpServer), Range (one range: 206, or 416), Content-Type by extension,
 * Cache-Control (playlists not cached), 404 for anything missing or outside the root,
 * symlinks included. Per uWS's rules: everything read from `req` is read before the first
 * await, onAborted is attached before it, writes are corked, and `res` is never touched
 * once aborted.
 */
export function staticFileHandler(options: () => HttpOptions): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => serveStatic(res, req, options());
}

/**
 * Answers one request from the files under `opts.dir`, for `url` (by default the request's
 * own path: another URL maps a fixed route to a file, e.g. a vendor script).
 */
export function serveStatic(res: HttpResponse, req: HttpRequest, opts: HttpOptions, url: string = req.getUrl()): void {
  const method = req.getMethod();
  const range = req.getHeader("range");
  const pending: Pending = { res, aborted: false };
  res.onAborted(() => {
    pending.aborted = true;
    pending.wake?.();
  });
  if (method !== "get" && method !== "head") {
    respond(pending, opts, "405 Method Not Allowed", "method not allowed\n", { Allow: "GET, HEAD, OPTIONS" });
    return;
  }
  serve(pending, opts, url, method === "head", range).catch((err: unknown) => {
    log.warn(0, `http: ${url}: ${err instanceof Error ? err.message : String(err)}`);
    respond(pending, opts, "500 Internal Server Error", "internal server error\n");
  });
}

/**
 * Answers GET/HEAD with a Buffer held in memory (HLS in memory): the same headers, Range
 * and HEAD handling as a file, with no disk I/O. Synchronous: `res` is done on return.
 */
export function serveBuffer(
  res: HttpResponse,
  req: HttpRequest,
  opts: HttpOptions,
  data: Buffer,
  name: string,
  modified: Date,
): void {
  const method = req.getMethod();
  const rangeHeader = req.getHeader("range");
  const p: Pending = { res, aborted: false };
  if (method !== "get" && method !== "head") {
    respond(p, opts, "405 Method Not Allowed", "method not allowed\n", { Allow: "GET, HEAD, OPTIONS" });
    return;
  }
  const size = data.length;
  const range = rangeHeader === "" ? "none" : parseRange(rangeHeader, size);
  if (range === "unsatisfiable") {
    respond(p, opts, "416 Range Not Satisfiable", "range not satisfiable\n", { "Content-Range": `bytes */${size}` });
    return;
  }
  const body = range === "none" ? data : data.subarray(range.start, range.end + 1);
  res.cork(() => {
    res.writeStatus(range === "none" ? "200 OK" : "206 Partial Content");
    writeCors(res, opts);
    res.writeHeader("Content-Type", contentTypeOf(name));
    res.writeHeader("Cache-Control", cacheControlOf(name));
    res.writeHeader("Accept-Ranges", "bytes");
    res.writeHeader("Last-Modified", modified.toUTCString());
    if (range !== "none") res.writeHeader("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
    if (method === "head") {
      res.writeHeader("Content-Length", String(body.length));
      res.endWithoutBody();
    } else {
      res.end(body);
    }
  });
}

function respond(p: Pending, opts: HttpOptions, status: string, body: string, headers: Record<string, string> = {}): void {
  if (p.aborted) return;
  p.aborted = true; // answered: nothing more may touch res
  p.res.cork(() => {
    p.res.writeStatus(status);
    writeCors(p.res, opts);
    p.res.writeHeader("Content-Type", "text/plain; charset=utf-8");
    for (const [k, v] of Object.entries(headers)) p.res.writeHeader(k, v);
    p.res.end(body);
  });
}

const notFound = (p: Pending, opts: HttpOptions) => respond(p, opts, "404 Not Found", "not found\n");

/** The real path of `root`, cached while it stays the same directory name. */
const realRoots = new Map<string, string>();

async function realRoot(root: string): Promise<string | null> {
  const cached = realRoots.get(root);
  if (cached !== undefined) return cached;
  try {
    const real = await fsp.realpath(root);
    if (realRoots.size > 16) realRoots.clear();
    realRoots.set(root, real);
    return real;
  } catch {
    return null;
  }
}

async function serve(p: Pending, opts: HttpOptions, url: string, head: boolean, rangeHeader: string): Promise<void> {
  const root = path.resolve(opts.dir);
  let file = resolveStaticPath(root, url);
  if (file === null) return notFound(p, opts);
  const rootReal = await realRoot(root);
  if (rootReal === null) return notFound(p, opts);

  let real: string;
  let stat: import("node:fs").Stats;
  try {
    real = await fsp.realpath(file);
    stat = await fsp.stat(real);
    if (stat.isDirectory()) {
      file = path.join(real, "index.html");
      real = await fsp.realpath(file);
      stat = await fsp.stat(real);
    }
  } catch {
    return notFound(p, opts);
  }
  // A symlink may point anywhere: what counts is where the file really is.
  if (!isInside(rootReal, real) || !stat.isFile()) return notFound(p, opts);
  if (p.aborted) return;

  const size = stat.size;
  const range = rangeHeader === "" ? "none" : parseRange(rangeHeader, size);
  if (range === "unsatisfiable") {
    return respond(p, opts, "416 Range Not Satisfiable", "range not satisfiable\n", { "Content-Range": `bytes */${size}` });
  }
  const start = range === "none" ? 0 : range.start;
  const length = range === "none" ? size : range.end - range.start + 1;
  const writeHeaders = (): void => {
    const res = p.res;
    res.writeStatus(range === "none" ? "200 OK" : "206 Partial Content");
    writeCors(res, opts);
    res.writeHeader("Content-Type", contentTypeOf(real));
    res.writeHeader("Cache-Control", cacheControlOf(real));
    res.writeHeader("Accept-Ranges", "bytes");
    res.writeHeader("Last-Modified", stat.mtime.toUTCString());
    if (range !== "none") res.writeHeader("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
  };

  if (head) {
    p.aborted = true;
    p.res.cork(() => {
      writeHeaders();
      // uWS 20.30's endWithoutBody(length) leaves the response open: write the length ourselves.
      p.res.writeHeader("Content-Length", String(length));
      p.res.endWithoutBody();
    });
    return;
  }

  const fh = await fsp.open(real, "r");
  try {
    if (length <= SMALL_FILE) {
      const body = Buffer.alloc(length);
      const { bytesRead } = await fh.read(body, 0, length, start);
      if (p.aborted) return;
      p.aborted = true;
      p.res.cork(() => {
        writeHeaders();
        p.res.end(body.subarray(0, bytesRead));
      });
      return;
    }
    await stream(p, fh, start, length, writeHeaders);
  } finally {
    await fh.close();
  }
}

/**
 * Sends `length` bytes from `start` with uWS back-pressure: one CHUNK read at a time,
 * tryEnd; when the socket is full, waits for onWritable and sends the rest of that chunk.
 */
async function stream(
  p: Pending,
  fh: import("node:fs/promises").FileHandle,
  start: number,
  length: number,
  writeHeaders: () => void,
): Promise<void> {
  const res = p.res;
  const buf = Buffer.alloc(Math.min(CHUNK, length));
  let sent = 0;
  let first = true;
  while (sent < length) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - sent), start + sent);
    if (p.aborted) return;
    if (bytesRead === 0) {
      // The file shrank under us: the promised length cannot be kept.
      res.close();
      p.aborted = true;
      return;
    }
    const chunk = buf.subarray(0, bytesRead);
    let base = 0;
    let ok = false;
    let done = false;
    res.cork(() => {
      if (first) writeHeaders();
      first = false;
      base = res.getWriteOffset();
      [ok, done] = res.tryEnd(chunk, length);
    });
    if (done) {
      p.aborted = true;
      return;
    }
    if (!ok) {
      const finished = await new Promise<boolean>((resolve) => {
        p.wake = () => resolve(true);
        res.onWritable((offset) => {
          if (p.aborted) {
            resolve(true);
            return true;
          }
          const [ok2, done2] = res.tryEnd(chunk.subarray(offset - base), length);
          if (done2) {
            p.aborted = true;
            resolve(true);
          } else if (ok2) {
            resolve(false);
          }
          return ok2;
        });
      });
      p.wake = undefined;
      if (finished) return;
    }
    sent += bytesRead;
  }
}
