/**
 * `sluice-bandcheck <rtmp://host[:port]/app?key=KEY[&vhost=VHOST]>`: SRS 1's RTMP bandwidth
 * check against a vhost with `bandcheck { enabled on; }` (Sluice, or SRS 1-4): about 3 s of
 * download and 3 s of upload at most the vhost's limit_kbps, then the server's report,
 * printed as a line (or JSON with --json). See docs/bandcheck.md.
 */
import { SluiceError } from "../core/errors.js";
import { runBandcheck } from "../protocol/rtmp/bandcheck-client.js";
import { RtmpClient, parseRtmpUrl, type RtmpUrl } from "../protocol/rtmp/client-session.js";
import { ExitCode, exitCodeFor, messageOf } from "./exit-code.js";
import { parseToolArgs } from "./tool-options.js";

const TOOL = "sluice-bandcheck";

export const USAGE = `Usage: ${TOOL} <rtmp://host[:port]/app?key=KEY[&vhost=VHOST]> [--json] [--quiet]
Measures the bandwidth to and from an RTMP server's bandcheck vhost (SRS 1's bandwidth check).
Options:
   --json                 print the server's report as one JSON object
   --timeout <N>          give up when the server sends nothing for N seconds (default 15)
   --handshake <kind>     complex (default) or simple
   -q, --quiet            print only the result and errors
   -h, --help             print this help and exit
   -v, --version          print the version and exit
Ends with status 0 with the report, 1 when the connection fails or the check does not
finish, 2 on bad arguments, 3 when the server refuses (a wrong key, or a check too soon
after the last one).
Example:
   ${TOOL} "rtmp://127.0.0.1/app?key=35c9b402c12a7246868752e2878f7e0e&vhost=bandcheck.srs.com"
`;

/** The URL as the check connects to it: no stream; the app keeps its query (key, vhost). */
export function bandcheckUrl(text: string): RtmpUrl {
  const m = /^(rtmp:\/\/[^/]+\/[^/]+?)\/*$/.exec(text.trim());
  if (!m) throw new SluiceError("ERR_RTMP_COMMAND", `not an rtmp://host/app?key=... URL: ${text}`);
  // parseRtmpUrl wants a stream: give it one and leave it out of what we use.
  const url = parseRtmpUrl(`${m[1]}/bandcheck`);
  return { ...url, stream: "" };
}

export async function main(argv: string[]): Promise<number> {
  const r = parseToolArgs(
    {
      name: TOOL,
      usage: USAGE,
      options: { json: { type: "boolean" } },
      positionals: 1,
      urlIndex: 0,
      parseUrl: bandcheckUrl,
      countError: (n) => (n === 0 ? "no URL" : `one URL, not ${n} arguments`),
      defaultTimeoutSec: 15,
    },
    argv,
  );
  if (typeof r === "number") return r;
  const { url, quiet, timeoutSec, complexHandshake } = r.common;
  const client = new RtmpClient(url, { timeoutMs: timeoutSec * 1000, complexHandshake });
  const check = runBandcheck(client, {
    timeoutMs: timeoutSec * 1000,
    onPhase: (phase) => {
      if (!quiet) process.stderr.write(`${TOOL}: ${phase === "play" ? "download (server to client)" : "upload (client to server)"}...\n`);
    },
  });
  try {
    await client.connect();
    const report = await check;
    if (r.values["json"]) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(
        `download ${report.playKbps} kbps (${report.playBytes} B in ${report.playMs} ms), upload ${report.publishKbps} kbps (${report.publishBytes} B in ${report.publishMs} ms)\n`,
      );
    }
    await client.end().catch(() => undefined);
    return ExitCode.Ok;
  } catch (err) {
    check.catch(() => undefined);
    client.close();
    process.stderr.write(`${TOOL}: ${messageOf(err)}\n`);
    return exitCodeFor(err);
  }
}
