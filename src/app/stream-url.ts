/**
 * Where a client's app, stream name and parameters come from, as SRS reads them:
 * tcUrl `rtmp://host[:port]/app[?params]`, the connect `app` (which may carry `?params`),
 * the publish/play name `stream[?params]`. The vhost is a `vhost=` (or SRS's `domain=`)
 * parameter, else the tcUrl's host. SRS also accepts `app...vhost...name` in place of
 * `app?vhost=name`; so do we.
 */
export interface StreamRequest {
  /** Host named in tcUrl (or the vhost parameter). */
  vhost: string;
  app: string;
  stream: string;
  /** The query string with its `?`, from the stream name or else the app/tcUrl (SRS's `param`). */
  param: string;
}

function splitQuery(s: string): [string, string] {
  const i = s.indexOf("?");
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i)];
}

function normalizeSrsVhostSyntax(s: string): string {
  // SRS: "live...vhost...a.com" means "live?vhost=a.com"; "..." separates further params.
  if (!s.includes("...")) return s;
  const parts = s.split("...");
  let out = parts[0]!;
  for (let i = 1; i + 1 < parts.length; i += 2) {
    out += (out.includes("?") ? "&" : "?") + `${parts[i]}=${parts[i + 1]}`;
  }
  return out;
}

function paramValue(query: string, key: string): string | undefined {
  if (!query) return undefined;
  const q = new URLSearchParams(query.startsWith("?") ? query.slice(1) : query);
  return q.get(key) ?? undefined;
}

/** The host of a tcUrl, or "" when it has none. */
export function tcUrlHost(tcUrl: string): string {
  const m = /^[a-z0-9+.-]+:\/\/(\[[^\]]*\]|[^/:?]*)/i.exec(tcUrl);
  return m ? m[1]!.replace(/^\[|\]$/g, "") : "";
}

/** Splits what a client sent into vhost, app, stream name and parameters. */
export function parseStreamRequest(tcUrl: string, connectApp: string, streamName: string): StreamRequest {
  const [appPath, appQuery] = splitQuery(normalizeSrsVhostSyntax(connectApp));
  const [name, nameQuery] = splitQuery(normalizeSrsVhostSyntax(streamName));
  const tcQuery = splitQuery(tcUrl)[1];
  const query = nameQuery || appQuery || tcQuery;
  const vhost =
    paramValue(nameQuery, "vhost") ??
    paramValue(nameQuery, "domain") ??
    paramValue(appQuery, "vhost") ??
    paramValue(appQuery, "domain") ??
    paramValue(tcQuery, "vhost") ??
    paramValue(tcQuery, "domain") ??
    tcUrlHost(tcUrl);
  return {
    vhost,
    app: appPath.replace(/^\/+|\/+$/g, ""),
    stream: name.replace(/^\/+/, ""),
    param: query,
  };
}
