/**
 * SRS's pithy print: every `pithy_print_ms`, one trace line per published stream (vhost/app/
 * stream, publisher connection id, players, kbps received over the interval) and one summary
 * line (connections, streams, kbps in and out of the whole server); at `srs_log_level info`
 * or below, also one line per connection (peer, role, kbps in/out, age), which at thousands
 * of players is too much for the default level. One timer for the server, never one per
 * stream or connection.
 */
import { log } from "../core/logger.js";
import type { Source } from "../stream/source.js";
import type { StreamRegistry } from "../stream/stream-registry.js";

/** What the pithy print reads from the server. */
export interface PithySubject {
  readonly registry: StreamRegistry;
  readonly connectionCount: number;
  /** Bytes read and written by every connection so far, closed ones included. */
  totalBytes(): { in: number; out: number };
  /** The live connections, for the per-connection lines. */
  clients(): Iterable<PithyClient>;
}

export interface PithyClient {
  readonly id: number;
  readonly peer: string;
  readonly role: string;
  readonly vhost: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly startedAt: number;
}

function kbps(bytes: number, ms: number): number {
  return ms > 0 ? Math.round((bytes * 8) / ms) : 0;
}

export class PithyPrint {
  private timer: NodeJS.Timeout | undefined;
  private lastAt = performance.now();
  private lastTotals = { in: 0, out: 0 };
  /** Each stream's stats.bytesIn at the last print. */
  private readonly lastIn = new WeakMap<Source, number>();
  /** Each connection's byte counts at the last print. */
  private readonly lastClient = new Map<number, { in: number; out: number }>();

  constructor(
    private readonly subject: PithySubject,
    private intervalMs: number,
  ) {}

  start(): void {
    this.stop();
    this.lastAt = performance.now();
    this.lastTotals = this.subject.totalBytes();
    this.timer = setInterval(() => this.print(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A new interval (reload): restarts the timer only when it changed. */
  configure(intervalMs: number): void {
    if (intervalMs === this.intervalMs) return;
    this.intervalMs = intervalMs;
    if (this.timer) this.start();
  }

  /** Writes the lines now (the timer calls this). */
  print(): void {
    const now = performance.now();
    const elapsed = now - this.lastAt;
    let streams = 0;
    for (const source of this.subject.registry.all()) {
      streams++;
      const bytesIn = source.stats.bytesIn;
      const before = this.lastIn.get(source) ?? 0;
      this.lastIn.set(source, bytesIn);
      const publisher = source.publisher;
      if (!publisher) continue;
      log.trace(
        publisher.id,
        `pithy stream ${source.vhost}/${source.app}/${source.stream}: publisher ${publisher.id}, players ${source.playerCount}, in ${kbps(bytesIn - before, elapsed)} kbps`,
      );
    }
    if (log.enabled("info")) {
      const seen = new Set<number>();
      for (const c of this.subject.clients()) {
        seen.add(c.id);
        const before = this.lastClient.get(c.id) ?? { in: 0, out: 0 };
        this.lastClient.set(c.id, { in: c.bytesIn, out: c.bytesOut });
        const age = ((now - c.startedAt) / 1000).toFixed(0);
        log.info(
          c.id,
          `pithy client ${c.peer}: ${c.role} on ${c.vhost || "-"}, in ${kbps(c.bytesIn - before.in, elapsed)} kbps, out ${kbps(c.bytesOut - before.out, elapsed)} kbps, alive ${age}s`,
        );
      }
      for (const id of this.lastClient.keys()) if (!seen.has(id)) this.lastClient.delete(id);
    }
    const totals = this.subject.totalBytes();
    log.trace(
      0,
      `pithy summary: connections ${this.subject.connectionCount}, streams ${streams}, in ${kbps(totals.in - this.lastTotals.in, elapsed)} kbps, out ${kbps(totals.out - this.lastTotals.out, elapsed)} kbps`,
    );
    this.lastTotals = totals;
    this.lastAt = now;
  }
}
