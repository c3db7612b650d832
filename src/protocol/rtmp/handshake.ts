/**
 * The RTMP handshake as two byte-driven state machines (RTMP spec 5.2): `ServerHandshake`
 * for connections we accept, `ClientHandshake` for connections we open (forwarding, edge
 * pulls, the load generator). They never touch a socket: the caller pushes what it reads
 * and writes the `reply`; once `done`, `rest` holds the first bytes of the chunk stream.
 * The digests (simple or complex, schemes 0 and 1) are computed by the addon.
 *
 * Errors are `SluiceError`s with code ERR_RTMP_HANDSHAKE_VERSION (C0/S0 not 3) or
 * ERR_RTMP_HANDSHAKE; the connection wraps them with the peer's address. After a throw the
 * handshake is unusable.
 */
import { SluiceError } from "../../core/errors.js";
import {
  handshakeClientC0C1,
  handshakeClientC2,
  handshakeServerReply,
  handshakeValidateS1,
} from "../../native/index.js";

/** C0/S0 (RTMP spec 5.2.2): 3 is plain RTMP. */
const RTMP_VERSION = 3;
/** C1, S1, C2, S2 (RTMP spec 5.2.3, 5.2.4). */
const PACKET_SIZE = 1536;
const C0C1_SIZE = 1 + PACKET_SIZE;
const S0S1S2_SIZE = 1 + 2 * PACKET_SIZE;

/** What one `push` produced. */
export interface HandshakeStep {
  /** Bytes to write to the peer now (S0S1S2 for a server, C2 for a client). */
  reply?: Buffer;
  /** The handshake is over; from here on the bytes are chunks. */
  done: boolean;
  /** Bytes after the handshake in this push: the start of the chunk stream. */
  rest?: Buffer;
}

/** Names what a wrong first byte usually means, so that the log says what to fix. */
function versionError(field: "C0" | "S0", version: number): SluiceError {
  let what = String(version);
  if (version === 6 || version === 8 || version === 9) {
    what += " (RTMPE, encrypted RTMP)";
  } else if (version === 0x16) {
    what += " (a TLS ClientHello: RTMPS sent to a plain RTMP port?)";
  } else if ([0x47, 0x48, 0x4f, 0x50].includes(version)) {
    what += ` ('${String.fromCharCode(version)}': an HTTP request sent to the RTMP port?)`;
  }
  return new SluiceError(
    "ERR_RTMP_HANDSHAKE_VERSION",
    `unsupported RTMP version ${what} in ${field}; only 3 (plain RTMP) is supported`,
  );
}

function wrapNative(err: unknown, context: string): SluiceError {
  return err instanceof SluiceError ? err : SluiceError.wrap(err, context, "ERR_RTMP_HANDSHAKE");
}

/** Returns the part of `data` after `used` bytes, or undefined when nothing is left. */
function after(data: Buffer, used: number): Buffer | undefined {
  return used < data.length ? data.subarray(used) : undefined;
}

type ServerState = "c0c1" | "c2" | "done" | "failed";

/**
 * Server side: collects C0+C1 in any pieces (C0 is checked on its first byte, so a wrong
 * version fails at once), answers S0+S1+S2, then reads C2. C2 is accepted without checking
 * its digest, as SRS and nginx-rtmp do (SRS's comment: "never verify c2, for ffmpeg will
 * failed").
 */
export class ServerHandshake {
  private state: ServerState = "c0c1";
  private readonly c0c1 = Buffer.alloc(C0C1_SIZE);
  private c0c1Received = 0;
  private c2Received = 0;
  private scheme_ = -1;

  /** -1 for the simple handshake (or before C1 is in), else the complex digest scheme. */
  get scheme(): number {
    return this.scheme_;
  }

  /** The client's C1 carried a valid digest, so we answered with the complex handshake. */
  get complex(): boolean {
    return this.scheme_ >= 0;
  }

  get done(): boolean {
    return this.state === "done";
  }

  push(data: Buffer): HandshakeStep {
    if (this.state === "done" || this.state === "failed") {
      const why = this.state === "done" ? "finished" : "failed";
      throw new SluiceError("ERR_RTMP_HANDSHAKE", `server handshake pushed after it ${why}`);
    }
    try {
      return this.consume(data);
    } catch (err) {
      this.state = "failed";
      throw err;
    }
  }

  private consume(data: Buffer): HandshakeStep {
    let used = 0;
    let reply: Buffer | undefined;
    if (this.state === "c0c1") {
      if (this.c0c1Received === 0 && data.length > 0 && data[0] !== RTMP_VERSION) {
        throw versionError("C0", data[0] ?? 0);
      }
      used = Math.min(data.length, C0C1_SIZE - this.c0c1Received);
      data.copy(this.c0c1, this.c0c1Received, 0, used);
      this.c0c1Received += used;
      if (this.c0c1Received < C0C1_SIZE) return { done: false };
      let answer;
      try {
        answer = handshakeServerReply(this.c0c1);
      } catch (err) {
        throw wrapNative(err, "RTMP handshake: answering C0+C1");
      }
      this.scheme_ = answer.scheme;
      reply = answer.s0s1s2;
      this.state = "c2";
    }
    // C2: counted, not kept (see the class comment).
    const take = Math.min(data.length - used, PACKET_SIZE - this.c2Received);
    this.c2Received += take;
    used += take;
    if (this.c2Received < PACKET_SIZE) return reply ? { reply, done: false } : { done: false };
    this.state = "done";
    const step: HandshakeStep = { done: true };
    if (reply) step.reply = reply;
    const rest = after(data, used);
    if (rest) step.rest = rest;
    return step;
  }
}

export interface ClientHandshakeOptions {
  /**
   * Offer the complex handshake (digest scheme 1, as ffmpeg and SRS's client do); default
   * true. Servers answer a simple C1 with a simple handshake.
   */
  complex?: boolean;
}

type ClientState = "new" | "s0s1s2" | "done" | "failed";

/**
 * Client side: `start()` gives C0+C1 to write; `push` collects S0+S1+S2 in any pieces (S0
 * checked on its first byte) and then replies C2, complex when S1 carries a valid FMS digest
 * in either scheme, else the echo of S1. S2 is not checked, as SRS's client does not check
 * it: it proves only that the server read our digest, and a mismatch would gain us nothing.
 */
export class ClientHandshake {
  readonly complex: boolean;
  private state: ClientState = "new";
  private c0c1: Buffer | undefined;
  private readonly s0s1s2 = Buffer.alloc(S0S1S2_SIZE);
  private received = 0;
  private serverScheme_ = -1;

  constructor(options: ClientHandshakeOptions = {}) {
    this.complex = options.complex ?? true;
  }

  /** -1 when the server answered simple (or before S1 is in), else its S1 digest scheme. */
  get serverScheme(): number {
    return this.serverScheme_;
  }

  get done(): boolean {
    return this.state === "done";
  }

  /** C0+C1 (1537 bytes) to write first. Once. */
  start(): Buffer {
    if (this.state !== "new") {
      throw new SluiceError("ERR_RTMP_HANDSHAKE", "client handshake started twice");
    }
    try {
      this.c0c1 = handshakeClientC0C1(this.complex);
    } catch (err) {
      this.state = "failed";
      throw wrapNative(err, "RTMP handshake: making C0+C1");
    }
    this.state = "s0s1s2";
    return this.c0c1;
  }

  push(data: Buffer): HandshakeStep {
    if (this.state !== "s0s1s2") {
      const why = { new: "before start()", done: "after it finished", failed: "after it failed" }[
        this.state
      ];
      throw new SluiceError("ERR_RTMP_HANDSHAKE", `client handshake pushed ${why}`);
    }
    try {
      return this.consume(data);
    } catch (err) {
      this.state = "failed";
      throw err;
    }
  }

  private consume(data: Buffer): HandshakeStep {
    if (this.received === 0 && data.length > 0 && data[0] !== RTMP_VERSION) {
      throw versionError("S0", data[0] ?? 0);
    }
    const used = Math.min(data.length, S0S1S2_SIZE - this.received);
    data.copy(this.s0s1s2, this.received, 0, used);
    this.received += used;
    if (this.received < S0S1S2_SIZE) return { done: false };
    let c2;
    try {
      this.serverScheme_ = handshakeValidateS1(this.s0s1s2.subarray(1, 1 + PACKET_SIZE));
      c2 = handshakeClientC2(this.s0s1s2, this.c0c1 as Buffer);
    } catch (err) {
      throw wrapNative(err, "RTMP handshake: answering S0+S1+S2");
    }
    this.state = "done";
    const step: HandshakeStep = { reply: c2, done: true };
    const rest = after(data, used);
    if (rest) step.rest = rest;
    return step;
  }
}
