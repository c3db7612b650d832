import type { HttpResponse } from "@trufflesuite/uws-js-unofficial";

/** What the HTTP handlers read from `http_server { }`; may change on reload. */
export interface HttpOptions {
  /** The static files' root (`dir`), relative to the working directory as SRS. */
  dir: string;
  /** `crossdomain`: CORS headers on every answer, and OPTIONS preflight answered. */
  crossdomain: boolean;
}

/** Writes the CORS headers when crossdomain is on (call inside cork, after writeStatus). */
export function writeCors(res: HttpResponse, opts: HttpOptions): void {
  if (!opts.crossdomain) return;
  res.writeHeader("Access-Control-Allow-Origin", "*");
  res.writeHeader("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges");
}

/** Answers an OPTIONS request: a CORS preflight when crossdomain is on, else 405. */
export function answerOptions(res: HttpResponse, requestHeaders: string, opts: HttpOptions): void {
  res.cork(() => {
    if (!opts.crossdomain) {
      res.writeStatus("405 Method Not Allowed");
      res.writeHeader("Allow", "GET, HEAD, OPTIONS");
      res.end();
      return;
    }
    res.writeStatus("204 No Content");
    writeCors(res, opts);
    res.writeHeader("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    res.writeHeader("Access-Control-Allow-Headers", requestHeaders === "" ? "*" : requestHeaders);
    res.writeHeader("Access-Control-Max-Age", "86400");
    res.endWithoutBody();
  });
}
