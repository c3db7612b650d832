/**
 * SRS's HTTP callbacks (http_hooks { }): a JSON POST per event to each configured URL, with
 * SRS's bodies (see docs/hooks.md). on_connect, on_publish and on_play decide: the client
 * goes on only if every URL, called in order, answers HTTP 200 (or 201, as SRS) with the
 * body `0` or a JSON object whose integer `code` is 0; anything else, a network error or
 * the timeout denies, and the URLs after a denial are not called. The other events notify:
 * every URL is called, failures are logged, nothing waits for them.
 *
 * Calls are asynchronous (fetch): a hook server that hangs delays only the client waiting
 * on it, never the event loop or other clients. Notifications in flight are bounded.
 */
import { log } from "../core/logger.js";

export type HookEvent = "on_connect" | "on_close" | "on_publish" | "on_unpublish" | "on_play" | "on_stop" | "on_dvr" | "on_hls";

export type HookOutcome = "allow" | "deny" | "error" | "timeout";

export interface HookDecision {
  allowed: boolean;
  /** Why it was denied: the URL and what it answered, for the log line. */
  reason: string;
  /** Who denied, for the log line ("refused by hook"): the hooks when absent. */
  by?: string;
}

/**
 * One decision from two taken at the same time (a hook and token_traverse): the first
 * denial, else allowed; null when neither has anything to wait for.
 */
export function bothDecisions(a: Promise<HookDecision> | null, b: Promise<HookDecision> | null): Promise<HookDecision> | null {
  if (a === null) return b;
  if (b === null) return a;
  return Promise.all([a, b]).then(([x, y]) => (x.allowed ? y : x));
}

/** Observes each call (metrics): event, seconds, outcome. */
export type HookObserver = (event: HookEvent, seconds: number, outcome: HookOutcome) => void;

/** The most bytes of a hook's answer read; a longer answer denies. */
const MAX_BODY = 64 * 1024;
/** Notifications in flight at most; beyond, new ones are dropped with a warning. */
const MAX_NOTIFY_IN_FLIGHT = 1000;

export class HttpHooks {
  private notifying = 0;
  private droppedSinceLog = 0;

  constructor(private readonly observe: HookObserver = () => {}) {}

  /**
   * Calls each URL in order until one denies. Resolves (never rejects) with the decision;
   * no URL allows.
   */
  async check(event: HookEvent, urls: readonly string[], body: object, timeoutMs: number, cid: number): Promise<HookDecision> {
    const json = JSON.stringify(body);
    for (const url of urls) {
      const r = await this.call(event, url, json, timeoutMs);
      if (r.outcome !== "allow") {
        log.warn(cid, `hook ${event} ${url} denied: ${r.detail}`);
        return { allowed: false, reason: `${event} ${url}: ${r.detail}` };
      }
      log.info(cid, `hook ${event} ${url} allowed`);
    }
    return { allowed: true, reason: "" };
  }

  /** Calls each URL in order, in the background; failures are logged. */
  notify(event: HookEvent, urls: readonly string[], body: object, timeoutMs: number, cid: number): void {
    if (urls.length === 0) return;
    if (this.notifying >= MAX_NOTIFY_IN_FLIGHT) {
      if (this.droppedSinceLog++ === 0) log.warn(cid, `hook ${event} not sent: ${MAX_NOTIFY_IN_FLIGHT} notifications already in flight`);
      return;
    }
    this.droppedSinceLog = 0;
    this.notifying++;
    const json = JSON.stringify(body);
    void (async () => {
      try {
        for (const url of urls) {
          const r = await this.call(event, url, json, timeoutMs);
          if (r.outcome !== "allow") log.warn(cid, `hook ${event} ${url} failed: ${r.detail}`);
        }
      } finally {
        this.notifying--;
      }
    })();
  }

  private async call(event: HookEvent, url: string, json: string, timeoutMs: number): Promise<{ outcome: HookOutcome; detail: string }> {
    const started = performance.now();
    const done = (outcome: HookOutcome, detail: string): { outcome: HookOutcome; detail: string } => {
      this.observe(event, (performance.now() - started) / 1000, outcome);
      return { outcome, detail };
    };
    let res: Response;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": "Sluice" },
        body: json,
        signal,
        redirect: "error",
      });
    } catch (err) {
      if (signal.aborted) return done("timeout", `no answer within ${timeoutMs} ms`);
      return done("error", errorText(err));
    }
    let text: string;
    try {
      text = await readLimited(res, MAX_BODY);
    } catch (err) {
      if (signal.aborted) return done("timeout", `answer not complete within ${timeoutMs} ms`);
      return done("error", errorText(err));
    }
    if (res.status !== 200 && res.status !== 201) return done("deny", `HTTP ${res.status}`);
    return isAllow(text) ? done("allow", "") : done("deny", `answer ${JSON.stringify(text.slice(0, 100))} is not 0 or {"code":0}`);
  }
}

/** SRS's rule: the body `0`, or a JSON object with an integer `code` of 0 (whitespace around is tolerated). */
export function isAllow(body: string): boolean {
  const t = body.trim();
  if (t === "0") return true;
  if (!t.startsWith("{")) return false;
  try {
    const v = JSON.parse(t) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) && (v as { code?: unknown }).code === 0;
  } catch {
    return false;
  }
}

async function readLimited(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new Error(`answer longer than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = cause && typeof cause === "object" ? (cause as { code?: unknown }).code : undefined;
  return typeof code === "string" ? `${err.message} (${code})` : err.message;
}
