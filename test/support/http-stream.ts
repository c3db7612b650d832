/**
 * Raw HTTP-FLV and WebSocket-FLV players for tests: read a live response for some seconds
 * over a plain socket (nothing in between normalises anything), de-chunk it, and return
 * the bytes, so tests can parse the FLV with test/support/flv.ts.
 */
import crypto from 'node:crypto';
import net from 'node:net';

export interface StreamResult {
  status: number;
  headers: Record<string, string>;
  /** The body (de-chunked), or the WebSocket binary payloads concatenated. */
  body: Buffer;
  /** The server closed the connection before `seconds` were over. */
  closedByServer: boolean;
}

interface Target {
  host: string;
  port: number;
  path: string;
}

function target(url: string): Target {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), path: `${u.pathname}${u.search}` };
}

function parseHead(data: Buffer): { status: number; headers: Record<string, string>; end: number } | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const h of lines) {
    const i = h.indexOf(':');
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, end: end + 4 };
}

/** Decodes a chunked body as far as it is complete. */
function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.toString('latin1', i, eol).split(';')[0]!, 16);
    if (!Number.isFinite(size) || size === 0) break;
    if (eol + 2 + size > b.length) {
      out.push(b.subarray(eol + 2));
      break;
    }
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

function collect(
  t: Target,
  request: string,
  seconds: number,
  finish: (raw: Buffer, closedByServer: boolean) => StreamResult,
): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(t.port, t.host);
    const chunks: Buffer[] = [];
    let done = false;
    const end = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(finish(Buffer.concat(chunks), closed));
      } catch (err) {
        reject(err);
      }
    };
    const timer = setTimeout(() => end(false), seconds * 1000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => end(true));
    socket.on('error', (err) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(err);
      }
    });
  });
}

/** GET `url` and read for `seconds` (or until the server closes). */
export function httpStream(url: string, seconds: number, headers: Record<string, string> = {}): Promise<StreamResult> {
  const t = target(url);
  const lines = [`GET ${t.path} HTTP/1.1`, `Host: ${headers['Host'] ?? `${t.host}:${t.port}`}`];
  for (const [k, v] of Object.entries(headers)) if (k !== 'Host') lines.push(`${k}: ${v}`);
  return collect(t, `${lines.join('\r\n')}\r\n\r\n`, seconds, (raw, closedByServer) => {
    const head = parseHead(raw);
    if (!head) throw new Error(`no HTTP answer from ${url}: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
    const rest = raw.subarray(head.end);
    const body = head.headers['transfer-encoding'] === 'chunked' ? dechunk(rest) : rest;
    return { status: head.status, headers: head.headers, body, closedByServer };
  });
}

/** Opens a WebSocket to `url` (ws://) and collects its binary messages for `seconds`. */
export function wsStream(url: string, seconds: number): Promise<StreamResult> {
  const t = target(url.replace(/^ws:/, 'http:'));
  const key = crypto.randomBytes(16).toString('base64');
  const request = [
    `GET ${t.path} HTTP/1.1`,
    `Host: ${t.host}:${t.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ].join('\r\n');
  return collect(t, `${request}\r\n\r\n`, seconds, (raw, closedByServer) => {
    const head = parseHead(raw);
    if (!head) throw new Error(`no HTTP answer from ${url}`);
    if (head.status !== 101) return { status: head.status, headers: head.headers, body: raw.subarray(head.end), closedByServer };
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    if (head.headers['sec-websocket-accept'] !== accept) throw new Error('bad Sec-WebSocket-Accept');
    // Server frames are unmasked (RFC 6455 5.1): FIN/opcode, length 7/16/64 bits, payload.
    const out: Buffer[] = [];
    let i = head.end;
    while (i + 2 <= raw.length) {
      const opcode = raw[i]! & 0x0f;
      let len = raw[i + 1]! & 0x7f;
      let p = i + 2;
      if (len === 126) {
        if (p + 2 > raw.length) break;
        len = raw.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (p + 8 > raw.length) break;
        len = Number(raw.readBigUInt64BE(p));
        p += 8;
      }
      if (p + len > raw.length) break;
      if (opcode === 2 || opcode === 0) out.push(raw.subarray(p, p + len));
      i = p + len;
    }
    return { status: 101, headers: head.headers, body: Buffer.concat(out), closedByServer };
  });
}
