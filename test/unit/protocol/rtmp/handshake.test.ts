import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ClientHandshake, ServerHandshake } from "../../../../src/protocol/rtmp/handshake.js";
import {
  handshakeClientC0C1,
  handshakeClientC2,
  handshakeServerReply,
  handshakeValidateC1,
  handshakeValidateS1,
  hmacSha256,
  sha256,
} from "../../../../src/native/index.js";
import { SluiceError } from "../../../../src/core/errors.js";

// The handshake's algorithm re-stated here on node:crypto, independently of the addon, so
// that the tests check the addon against a second implementation.
const KEY_TAIL = Buffer.from(
  "f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae",
  "hex",
);
const PLAYER_KEY = Buffer.concat([Buffer.from("Genuine Adobe Flash Player 001"), KEY_TAIL]);
const SERVER_KEY = Buffer.concat([Buffer.from("Genuine Adobe Flash Media Server 001"), KEY_TAIL]);
const PLAYER_KEY_TEXT = PLAYER_KEY.subarray(0, 30);
const SERVER_KEY_TEXT = SERVER_KEY.subarray(0, 36);

const hmac = (key: Buffer, ...parts: Buffer[]): Buffer => {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest();
};

/** SRS's schemes: 0 = key block first (digest block at 772), 1 = digest block first (at 8). */
function digestOffset(packet: Buffer, scheme: number): number {
  const block = scheme === 0 ? 772 : 8;
  const sum = packet[block]! + packet[block + 1]! + packet[block + 2]! + packet[block + 3]!;
  return block + 4 + (sum % 728);
}

function packetDigest(packet: Buffer, scheme: number, key: Buffer): Buffer {
  const at = digestOffset(packet, scheme);
  return hmac(key, packet.subarray(0, at), packet.subarray(at + 32));
}

function hasDigest(packet: Buffer, scheme: number, key: Buffer): boolean {
  const at = digestOffset(packet, scheme);
  return packetDigest(packet, scheme, key).equals(packet.subarray(at, at + 32));
}

/** Signs a 1536-byte packet in place in `scheme`, as a peer would. */
function sign(packet: Buffer, scheme: number, key: Buffer): Buffer {
  packetDigest(packet, scheme, key).copy(packet, digestOffset(packet, scheme));
  return packet;
}

function digestOf(packet: Buffer, scheme: number): Buffer {
  const at = digestOffset(packet, scheme);
  return packet.subarray(at, at + 32);
}

/** A C2/S2 answers the peer's digest: its last 32 bytes sign the first 1504. */
function answers(packet: Buffer, peerDigest: Buffer, fullKey: Buffer): boolean {
  const expected = hmac(hmac(fullKey, peerDigest), packet.subarray(0, 1504));
  return expected.equals(packet.subarray(1504));
}

/** A C0+C1 as a complex client would send it, signed with our own code above. */
function complexC0C1(scheme: number): Buffer {
  const c1 = randomBytes(1536);
  c1.set([0x80, 0x00, 0x07, 0x02], 4);
  return Buffer.concat([Buffer.from([3]), sign(c1, scheme, PLAYER_KEY_TEXT)]);
}

function simpleC0C1(): Buffer {
  const c1 = randomBytes(1536);
  c1.writeUInt32BE(0, 4);
  return Buffer.concat([Buffer.from([3]), c1]);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

// Captured by test/fixtures/capture-ffmpeg-c1.mjs from ffmpeg 5.1 publishing to us.
const FFMPEG_C0C1 = readFileSync(new URL("../../../fixtures/ffmpeg-c0c1.bin", import.meta.url));

describe("sha256 (native)", () => {
  // FIPS 180-2 appendix B and the NIST example values.
  const vectors: Array<[string, Buffer, string]> = [
    ["empty", Buffer.alloc(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", Buffer.from("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "448 bits",
      Buffer.from("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    [
      "896 bits",
      Buffer.from(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq" +
          "klmnopqrlmnopqrsmnopqrstnopqrstu",
      ),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ],
    [
      "a million a's",
      Buffer.alloc(1_000_000, "a"),
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    ],
  ];
  for (const [name, input, hex] of vectors) {
    it(`hashes the FIPS vector: ${name}`, () => {
      expect(sha256(input).toString("hex")).toBe(hex);
    });
  }

  it("matches node:crypto on every length around the block and padding edges", () => {
    for (let len = 0; len <= 200; len++) {
      const data = randomBytes(len);
      expect(sha256(data)).toEqual(createHash("sha256").update(data).digest());
    }
  });
});

describe("hmacSha256 (native)", () => {
  // RFC 4231 section 4, test cases 1-4, 6, 7 (5 truncates the output; 6 and 7 hash the key).
  const rep = (byte: number, n: number): Buffer => Buffer.alloc(n, byte);
  const vectors: Array<[string, Buffer, Buffer, string]> = [
    [
      "1",
      rep(0x0b, 20),
      Buffer.from("Hi There"),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ],
    [
      "2",
      Buffer.from("Jefe"),
      Buffer.from("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    [
      "3",
      rep(0xaa, 20),
      rep(0xdd, 50),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ],
    [
      "4",
      Buffer.from("0102030405060708090a0b0c0d0e0f10111213141516171819", "hex"),
      rep(0xcd, 50),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ],
    [
      "6",
      rep(0xaa, 131),
      Buffer.from("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      "7",
      rep(0xaa, 131),
      Buffer.from(
        "This is a test using a larger than block-size key and a larger than block-size " +
          "data. The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  for (const [name, key, data, hex] of vectors) {
    it(`matches RFC 4231 test case ${name}`, () => {
      expect(hmacSha256(key, data).toString("hex")).toBe(hex);
    });
  }

  it("matches node:crypto on random keys (0..130 bytes) and messages", () => {
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(i % 131);
      const data = randomBytes((i * 37) % 300);
      expect(hmacSha256(key, data)).toEqual(hmac(key, data));
    }
  });
});

describe("handshakeServerReply", () => {
  it("sees that ffmpeg sends a complex C1, digest scheme 1 (digest block first)", () => {
    expect(FFMPEG_C0C1.length).toBe(1537);
    expect(FFMPEG_C0C1[0]).toBe(3);
    const c1 = FFMPEG_C0C1.subarray(1);
    // Version 9.0.124.2 (RTMP_CLIENT_VER1..4 in libavformat/rtmp.h); uptime 0.
    expect([...c1.subarray(4, 8)]).toEqual([9, 0, 124, 2]);
    expect(hasDigest(c1, 1, PLAYER_KEY_TEXT)).toBe(true);
    expect(hasDigest(c1, 0, PLAYER_KEY_TEXT)).toBe(false);
    expect(handshakeValidateC1(c1)).toBe(1);
  });

  it("answers ffmpeg's C0+C1 with a complex S1 and S2 that validate", () => {
    const { s0s1s2, scheme } = handshakeServerReply(FFMPEG_C0C1);
    expect(scheme).toBe(1);
    expect(s0s1s2.length).toBe(3073);
    expect(s0s1s2[0]).toBe(3);
    const s1 = s0s1s2.subarray(1, 1537);
    const s2 = s0s1s2.subarray(1537);
    // ffmpeg checks the S1 digest only when S1's first version byte is >= 3.
    expect(s1[4]).toBeGreaterThanOrEqual(3);
    expect(hasDigest(s1, 1, SERVER_KEY_TEXT)).toBe(true);
    expect(handshakeValidateS1(s1)).toBe(1);
    expect(answers(s2, digestOf(FFMPEG_C0C1.subarray(1), 1), SERVER_KEY)).toBe(true);
  });

  it("detects scheme 0 and signs S1 in the client's scheme", () => {
    const c0c1 = complexC0C1(0);
    expect(handshakeValidateC1(c0c1.subarray(1))).toBe(0);
    const { s0s1s2, scheme } = handshakeServerReply(c0c1);
    expect(scheme).toBe(0);
    const s1 = s0s1s2.subarray(1, 1537);
    expect(hasDigest(s1, 0, SERVER_KEY_TEXT)).toBe(true);
    expect(answers(s0s1s2.subarray(1537), digestOf(c0c1.subarray(1), 0), SERVER_KEY)).toBe(true);
  });

  it("detects the scheme of any C1 signed in either scheme", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1536, maxLength: 1536 }),
        fc.constantFrom(0, 1),
        (bytes, scheme) => {
          const c1 = sign(Buffer.from(bytes), scheme, PLAYER_KEY_TEXT);
          expect(handshakeValidateC1(c1)).toBe(scheme);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("falls back to the simple handshake when C1 has no digest: S1 version 0, S2 echoes C1", () => {
    const c0c1 = simpleC0C1();
    const { s0s1s2, scheme } = handshakeServerReply(c0c1);
    expect(scheme).toBe(-1);
    expect(s0s1s2[0]).toBe(3);
    expect(s0s1s2.readUInt32BE(1 + 4)).toBe(0);
    expect(s0s1s2.subarray(1537)).toEqual(c0c1.subarray(1));
  });

  it("answers simple when one byte of a complex C1 is changed", () => {
    const c0c1 = Buffer.from(FFMPEG_C0C1);
    c0c1[1 + 1500] = c0c1[1 + 1500]! ^ 0xff; // in the key block, outside the digest
    const { s0s1s2, scheme } = handshakeServerReply(c0c1);
    expect(scheme).toBe(-1);
    expect(s0s1s2.subarray(1537)).toEqual(c0c1.subarray(1));
  });

  it("fills S1 with fresh random bytes on each reply", () => {
    const a = handshakeServerReply(FFMPEG_C0C1).s0s1s2.subarray(9, 1537);
    const b = handshakeServerReply(FFMPEG_C0C1).s0s1s2.subarray(9, 1537);
    expect(a.equals(b)).toBe(false);
  });

  it("rejects C0 other than 3 with ERR_RTMP_HANDSHAKE_VERSION naming the version", () => {
    const c0c1 = Buffer.from(FFMPEG_C0C1);
    c0c1[0] = 6;
    expect(codeOf(() => handshakeServerReply(c0c1))).toBe("ERR_RTMP_HANDSHAKE_VERSION");
    expect(() => handshakeServerReply(c0c1)).toThrow(/version 6 \(RTMPE/);
  });

  it("rejects a wrong length or a non-Buffer with ERR_RTMP_HANDSHAKE", () => {
    const short = FFMPEG_C0C1.subarray(0, 1536);
    const long = Buffer.concat([FFMPEG_C0C1, Buffer.from([0])]);
    expect(codeOf(() => handshakeServerReply(short))).toBe("ERR_RTMP_HANDSHAKE");
    expect(codeOf(() => handshakeServerReply(long))).toBe("ERR_RTMP_HANDSHAKE");
    expect(codeOf(() => handshakeServerReply("x" as unknown as Buffer))).toBe("ERR_RTMP_HANDSHAKE");
    expect(codeOf(() => handshakeValidateC1(Buffer.alloc(10)))).toBe("ERR_RTMP_HANDSHAKE");
    const s0s1s2 = Buffer.alloc(3073, 3);
    expect(codeOf(() => handshakeClientC2(s0s1s2, Buffer.alloc(5)))).toBe("ERR_RTMP_HANDSHAKE");
    expect(codeOf(() => handshakeClientC0C1(1 as unknown as boolean))).toBe("ERR_RTMP_HANDSHAKE");
  });
});

describe("handshakeClientC0C1 and handshakeClientC2", () => {
  it("makes a complex C1 in scheme 1 with a non-zero version", () => {
    const c0c1 = handshakeClientC0C1(true);
    expect(c0c1.length).toBe(1537);
    expect(c0c1[0]).toBe(3);
    expect([...c0c1.subarray(5, 9)]).toEqual([0x80, 0x00, 0x07, 0x02]);
    expect(hasDigest(c0c1.subarray(1), 1, PLAYER_KEY_TEXT)).toBe(true);
  });

  it("makes a simple C1 with a zero version and no digest", () => {
    const c0c1 = handshakeClientC0C1(false);
    expect(c0c1.readUInt32BE(5)).toBe(0);
    expect(handshakeValidateC1(c0c1.subarray(1))).toBe(-1);
  });

  it("answers an S1 signed in the other scheme (nginx-rtmp signs in scheme 1 always)", () => {
    const c0c1 = complexC0C1(0);
    const s1 = sign(randomBytes(1536), 1, SERVER_KEY_TEXT);
    const s0s1s2 = Buffer.concat([Buffer.from([3]), s1, randomBytes(1536)]);
    const c2 = handshakeClientC2(s0s1s2, c0c1);
    expect(answers(c2, digestOf(s1, 1), PLAYER_KEY)).toBe(true);
  });

  it("echoes S1 as C2 when S1 has no digest", () => {
    const s0s1s2 = Buffer.concat([Buffer.from([3]), randomBytes(3072)]);
    expect(handshakeClientC2(s0s1s2, handshakeClientC0C1(true))).toEqual(s0s1s2.subarray(1, 1537));
  });
});

describe("ServerHandshake", () => {
  it("takes C0+C1 and C2 one byte at a time, replying exactly when C1 is complete", () => {
    const hs = new ServerHandshake();
    let reply: Buffer | undefined;
    for (let i = 0; i < 1537; i++) {
      const step = hs.push(FFMPEG_C0C1.subarray(i, i + 1));
      expect(step.done).toBe(false);
      if (i < 1536) expect(step.reply).toBeUndefined();
      else reply = step.reply;
    }
    expect(reply?.length).toBe(3073);
    expect(hs.complex).toBe(true);
    expect(hs.scheme).toBe(1);
    const c2 = randomBytes(1536);
    for (let i = 0; i < 1536; i++) {
      const step = hs.push(c2.subarray(i, i + 1));
      expect(step.reply).toBeUndefined();
      expect(step.done).toBe(i === 1535);
      expect(step.rest).toBeUndefined();
    }
    expect(hs.done).toBe(true);
  });

  it("passes the bytes after C2 through as rest: the start of the chunk stream", () => {
    const hs = new ServerHandshake();
    hs.push(FFMPEG_C0C1);
    const chunks = Buffer.from([0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9f, 0x14]);
    const step = hs.push(Buffer.concat([randomBytes(1536), chunks]));
    expect(step).toEqual({ done: true, rest: chunks });
  });

  it("handles C0+C1, C2 and chunks in one push, and any split of them the same way", () => {
    const tail = randomBytes(100);
    const all = Buffer.concat([simpleC0C1(), randomBytes(1536), tail]);
    const whole = new ServerHandshake().push(all);
    expect(whole.done).toBe(true);
    expect(whole.reply?.length).toBe(3073);
    expect(whole.rest).toEqual(tail);
    const cutPoints = fc.uniqueArray(fc.integer({ min: 1, max: all.length - 1 }), {
      maxLength: 6,
    });
    fc.assert(
      fc.property(cutPoints, (cuts) => {
        const hs = new ServerHandshake();
        const points = [0, ...cuts.sort((a, b) => a - b), all.length];
        const replies: Buffer[] = [];
        const rests: Buffer[] = [];
        for (let i = 0; i + 1 < points.length; i++) {
          if (hs.done) {
            rests.push(all.subarray(points[i], points[i + 1])); // the caller's chunk stream
            continue;
          }
          const step = hs.push(all.subarray(points[i], points[i + 1]));
          if (step.reply) replies.push(step.reply);
          if (step.rest) rests.push(step.rest);
        }
        expect(hs.done).toBe(true);
        expect(replies.length).toBe(1);
        expect(hs.scheme).toBe(-1);
        expect(Buffer.concat(rests)).toEqual(tail);
      }),
      { numRuns: 200 },
    );
  });

  it("fails fast on the first byte when C0 is not 3, and stays failed", () => {
    const hs = new ServerHandshake();
    let caught: unknown;
    try {
      hs.push(Buffer.from([6]));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).code).toBe("ERR_RTMP_HANDSHAKE_VERSION");
    expect((caught as SluiceError).message).toMatch(/version 6 \(RTMPE/);
    expect(codeOf(() => hs.push(FFMPEG_C0C1.subarray(1)))).toBe("ERR_RTMP_HANDSHAKE");
  });

  it("says what a TLS or HTTP first byte means", () => {
    expect(() => new ServerHandshake().push(Buffer.from([0x16, 0x03, 0x01]))).toThrow(/TLS/);
    expect(() => new ServerHandshake().push(Buffer.from("GET / HTTP/1.1\r\n"))).toThrow(/HTTP/);
  });

  it("refuses bytes after it is done", () => {
    const hs = new ServerHandshake();
    hs.push(Buffer.concat([FFMPEG_C0C1, randomBytes(1536)]));
    expect(codeOf(() => hs.push(Buffer.from([1])))).toBe("ERR_RTMP_HANDSHAKE");
  });
});

describe("ClientHandshake with ServerHandshake", () => {
  function roundTrip(complex: boolean, extra: Buffer): {
    client: ClientHandshake;
    server: ServerHandshake;
    c2: Buffer;
    s0s1s2: Buffer;
    clientRest?: Buffer;
    serverRest?: Buffer;
  } {
    const client = new ClientHandshake({ complex });
    const server = new ServerHandshake();
    const first = server.push(client.start());
    expect(first.done).toBe(false);
    const s0s1s2 = first.reply!;
    // The server's first chunks (e.g. Window Acknowledgement Size) may follow S2 at once.
    const answer = client.push(Buffer.concat([s0s1s2, extra]));
    expect(answer.done).toBe(true);
    const c2 = answer.reply!;
    const last = server.push(Buffer.concat([c2, extra]));
    expect(last.done).toBe(true);
    return { client, server, c2, s0s1s2, clientRest: answer.rest, serverRest: last.rest };
  }

  it("completes the complex handshake, each side's digest valid for the other", () => {
    const extra = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x05]);
    const { client, server, c2, s0s1s2, clientRest, serverRest } = roundTrip(true, extra);
    expect(server.complex).toBe(true);
    expect(server.scheme).toBe(1);
    expect(client.serverScheme).toBe(1);
    const s1 = s0s1s2.subarray(1, 1537);
    expect(answers(c2, digestOf(s1, 1), PLAYER_KEY)).toBe(true);
    expect(clientRest).toEqual(extra);
    expect(serverRest).toEqual(extra);
  });

  it("completes the simple handshake: C2 echoes S1", () => {
    const { client, server, c2, s0s1s2, clientRest } = roundTrip(false, Buffer.alloc(0));
    expect(server.complex).toBe(false);
    expect(client.serverScheme).toBe(-1);
    expect(c2).toEqual(s0s1s2.subarray(1, 1537));
    expect(clientRest).toBeUndefined();
  });

  it("takes S0+S1+S2 one byte at a time", () => {
    const client = new ClientHandshake();
    const { s0s1s2 } = handshakeServerReply(client.start());
    for (let i = 0; i < 3072; i++) {
      expect(client.push(s0s1s2.subarray(i, i + 1))).toEqual({ done: false });
    }
    const step = client.push(s0s1s2.subarray(3072));
    expect(step.done).toBe(true);
    expect(step.reply?.length).toBe(1536);
  });

  it("fails fast when S0 is not 3", () => {
    const client = new ClientHandshake();
    client.start();
    expect(codeOf(() => client.push(Buffer.from([9])))).toBe("ERR_RTMP_HANDSHAKE_VERSION");
  });

  it("refuses push before start and a second start", () => {
    const client = new ClientHandshake();
    expect(codeOf(() => client.push(Buffer.from([3])))).toBe("ERR_RTMP_HANDSHAKE");
    client.start();
    expect(codeOf(() => client.start())).toBe("ERR_RTMP_HANDSHAKE");
  });
});
