/**
 * A player that records when each video frame arrives and its timestamp, to check that a
 * stream kept flowing while something else happened (bad input, reloads).
 */
import { RtmpClient, parseRtmpUrl } from '../../src/protocol/rtmp/client-session.js';

export interface Watcher {
  readonly client: RtmpClient;
  /** performance.now() of each video frame's arrival. */
  readonly arrivals: number[];
  /** Each video frame's RTMP timestamp. */
  readonly stamps: number[];
  /** Largest gap between arrivals and between timestamps, from frame `from` on. */
  worstGaps(from?: number): { arrivalMs: number; timestampMs: number };
  close(): void;
}

export async function watchVideo(url: string): Promise<Watcher> {
  const client = new RtmpClient(parseRtmpUrl(url));
  const arrivals: number[] = [];
  const stamps: number[] = [];
  client.on('media', (m) => {
    if (m.type === 9 && m.payload[1] === 1) {
      arrivals.push(performance.now());
      stamps.push(m.timestamp);
    }
  });
  await client.connect();
  await client.play(await client.createStream());
  return {
    client,
    arrivals,
    stamps,
    worstGaps(from = 1) {
      let arrivalMs = 0;
      let timestampMs = 0;
      for (let i = Math.max(1, from); i < arrivals.length; i++) {
        arrivalMs = Math.max(arrivalMs, arrivals[i]! - arrivals[i - 1]!);
        timestampMs = Math.max(timestampMs, stamps[i]! - stamps[i - 1]!);
      }
      return { arrivalMs, timestampMs };
    },
    close: () => client.close(),
  };
}
