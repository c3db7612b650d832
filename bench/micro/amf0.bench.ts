/**
 * AMF0, commands per second.
 *
 * Decode: the connect command ffmpeg 5.1.9 sends when it publishes (139 bytes, captured from
 * the wire; the same bytes as test/unit/protocol/rtmp/amf0.test.ts). Ours: decodeAmf0 (all
 * values). Theirs: node-media-server's decodeAmf0Cmd (src/node_core_amf.js), which its
 * session calls on every command message.
 *
 * Encode: the `_result` a server answers connect with (our acceptConnect's values). Ours:
 * encodeAmf0. Theirs: encodeAmf0Cmd, which its respondConnect calls.
 *
 * Before timing: both decodes give the same values, both encodes the same bytes.
 */
import { isDeepStrictEqual } from "node:util";
import { decodeAmf0, encodeAmf0 } from "../../src/protocol/rtmp/amf0.js";
import { addBatched, check, measured, newBench, opsRow, type MicroRow } from "./common.js";
import { nmsModule, nmsVersion, type NmsAmf } from "./nms.js";

const ascii = (s: string): string => Buffer.from(s, "latin1").toString("hex");
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** ffmpeg 5.1.9 (Lavf59.27.100) publishing to rtmp://127.0.0.1:1935/live/...: the connect payload. */
const FFMPEG_CONNECT = hex(`
  02 0007 ${ascii("connect")}
  00 3FF0000000000000
  03
    0003 ${ascii("app")}      02 0004 ${ascii("live")}
    0004 ${ascii("type")}     02 000A ${ascii("nonprivate")}
    0008 ${ascii("flashVer")} 02 0024 ${ascii("FMLE/3.0 (compatible; Lavf59.27.100)")}
    0005 ${ascii("tcUrl")}    02 001A ${ascii("rtmp://127.0.0.1:1935/live")}
  00 00 09
`);

const RESULT_CMD_OBJ = { fmsVer: "FMS/3,5,3,888", capabilities: 127, mode: 1 };
const RESULT_INFO = {
  level: "status",
  code: "NetConnection.Connect.Success",
  description: "Connection succeeded",
  objectEncoding: 0,
};

const DECODE = "AMF0 decode: ffmpeg's connect command (139 B)";
const ENCODE = "AMF0 encode: connect _result (4 values)";
const INNER = 2000;

export async function amf0Bench(): Promise<MicroRow[]> {
  check(FFMPEG_CONNECT.length === 139, "the connect command is 139 bytes");
  const amf = nmsModule<NmsAmf>("src/node_core_amf.js", ["decodeAmf0Cmd", "encodeAmf0Cmd"]);
  const peerName = (fn: string): string => (typeof amf === "string" ? amf : `${nmsVersion} ${fn}`);

  const ours = decodeAmf0(FFMPEG_CONNECT);
  const ourBytes = encodeAmf0("_result", 1, RESULT_CMD_OBJ, RESULT_INFO);
  let decodeNote = "";
  let encodeNote = "";
  if (typeof amf !== "string") {
    const theirs = amf.decodeAmf0Cmd(FFMPEG_CONNECT);
    const same =
      theirs["cmd"] === ours[0] &&
      theirs["transId"] === ours[1] &&
      isDeepStrictEqual({ ...(theirs["cmdObj"] as object) }, { ...(ours[2] as object) });
    decodeNote = same ? "same values as ours" : "NOT the same values as ours";
    const theirBytes = amf.encodeAmf0Cmd({ cmd: "_result", transId: 1, cmdObj: RESULT_CMD_OBJ, info: RESULT_INFO });
    encodeNote = theirBytes.equals(ourBytes) ? `same ${ourBytes.length} bytes as ours` : "NOT the same bytes as ours";
  }

  const bench = newBench("amf0");
  let sink = 0;
  addBatched(bench, `${DECODE} [ours]`, INNER, () => {
    sink += decodeAmf0(FFMPEG_CONNECT).length;
  });
  addBatched(bench, `${ENCODE} [ours]`, INNER, () => {
    sink += encodeAmf0("_result", 1, RESULT_CMD_OBJ, RESULT_INFO).length;
  });
  if (typeof amf !== "string") {
    addBatched(bench, `${DECODE} [theirs]`, INNER, () => {
      sink += amf.decodeAmf0Cmd(FFMPEG_CONNECT)["transId"] as number;
    });
    addBatched(bench, `${ENCODE} [theirs]`, INNER, () => {
      sink += amf.encodeAmf0Cmd({ cmd: "_result", transId: 1, cmdObj: RESULT_CMD_OBJ, info: RESULT_INFO }).length;
    });
  }
  await bench.run();
  check(sink > 0, "AMF0 tasks produced output");

  const theirs = (name: string): ReturnType<typeof measured> | null =>
    typeof amf === "string" ? null : measured(bench, `${name} [theirs]`);
  return [
    opsRow(DECODE, measured(bench, `${DECODE} [ours]`), theirs(DECODE), peerName("decodeAmf0Cmd"), decodeNote || undefined),
    opsRow(ENCODE, measured(bench, `${ENCODE} [ours]`), theirs(ENCODE), peerName("encodeAmf0Cmd"), encodeNote || undefined),
  ];
}
