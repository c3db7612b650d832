/**
 * Handshakes per second: a server's S0+S1+S2 for a real ffmpeg C0+C1
 * (test/fixtures/ffmpeg-c0c1.bin), which has a valid digest, so both sides do the complex
 * handshake: validate C1's digest, sign S1, derive the key and sign S2.
 *
 * Ours: handshakeServerReply (native, our own SHA-256/HMAC).
 * Theirs: node-media-server's generateS0S1S2 (src/node_rtmp_handshake.js), which takes C1
 * without C0 and uses Node's crypto (OpenSSL) for HMAC and random bytes.
 * Before timing, both S1s are checked with our S1 validator and S2 lengths compared.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { handshakeServerReply, handshakeValidateS1 } from "../../src/native/index.js";
import { addBatched, check, measured, newBench, opsRow, repoRoot, type MicroRow } from "./common.js";
import { nmsExport, nmsVersion, type NmsHandshake } from "./nms.js";

const NAME = "handshake: server reply to ffmpeg's C0C1 (complex)";
const INNER = 50;

export async function handshakeBench(): Promise<MicroRow[]> {
  const c0c1 = readFileSync(path.join(repoRoot(), "test", "fixtures", "ffmpeg-c0c1.bin"));
  check(c0c1.length === 1537, "ffmpeg-c0c1.bin is 1537 bytes");
  const c1 = c0c1.subarray(1);

  const reply = handshakeServerReply(c0c1);
  check(reply.s0s1s2.length === 3073 && reply.scheme >= 0, "our reply is complex");
  const ourS1Scheme = handshakeValidateS1(reply.s0s1s2.subarray(1, 1537));

  const generate = nmsExport<NmsHandshake["generateS0S1S2"]>("src/node_rtmp_handshake.js", "generateS0S1S2");
  let note = `C1 digest scheme ${reply.scheme}; our S1 validates with scheme ${ourS1Scheme}`;
  if (typeof generate !== "string") {
    const theirs = generate(c1);
    check(theirs.length === 3073, "their reply is 3073 bytes");
    const theirS1Scheme = handshakeValidateS1(theirs.subarray(1, 1537));
    note += `, theirs with scheme ${theirS1Scheme}`;
  }

  const bench = newBench("handshake");
  let sink = 0;
  addBatched(bench, `${NAME} [ours]`, INNER, () => {
    sink += handshakeServerReply(c0c1).s0s1s2.length;
  });
  if (typeof generate !== "string") {
    addBatched(bench, `${NAME} [theirs]`, INNER, () => {
      sink += generate(c1).length;
    });
  }
  await bench.run();
  check(sink > 0, "handshakes produced bytes");

  return [
    opsRow(
      NAME,
      measured(bench, `${NAME} [ours]`),
      typeof generate === "string" ? null : measured(bench, `${NAME} [theirs]`),
      typeof generate === "string" ? generate : `${nmsVersion} generateS0S1S2`,
      note,
    ),
  ];
}
