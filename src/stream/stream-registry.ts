/**
 * Every live Source by vhost/app/stream. A source exists while it has a publisher or a
 * consumer (a player may wait for a publisher that has not come yet) and is dropped when
 * it has neither.
 */
import { Source, type SourcePlayConfig } from "./source.js";

export class StreamRegistry {
  private readonly sources = new Map<string, Source>();

  /** The source for vhost/app/stream, made with `config` when it does not exist. */
  acquire(vhost: string, app: string, stream: string, config: SourcePlayConfig): Source {
    const key = `${vhost}/${app}/${stream}`;
    let s = this.sources.get(key);
    if (!s) {
      s = new Source(vhost, app, stream, config);
      this.sources.set(key, s);
    }
    return s;
  }

  get(vhost: string, app: string, stream: string): Source | undefined {
    return this.sources.get(`${vhost}/${app}/${stream}`);
  }

  /** Drops the source if nothing uses it. */
  release(source: Source): void {
    if (source.idle && this.sources.get(source.key) === source) {
      source.dispose();
      this.sources.delete(source.key);
    }
  }

  all(): IterableIterator<Source> {
    return this.sources.values();
  }

  get size(): number {
    return this.sources.size;
  }
}
