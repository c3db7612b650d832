/**
 * What the HTTP server may answer for HLS: every live playlist and segment by URL path
 * ("/live/livestream.m3u8"), either held in memory (`hls_storage memory`: no disk I/O) or
 * as a file under an hls_path root. Only paths the segmenter registered are answered, so a
 * request can never reach another file through this index.
 */

export type HlsEntry =
  | { readonly kind: "memory"; readonly data: Buffer; readonly modified: Date }
  | { readonly kind: "disk"; readonly root: string };

export class HlsStore {
  private readonly entries = new Map<string, HlsEntry>();

  /** `urlPath` starts with "/". */
  putData(urlPath: string, data: Buffer): void {
    this.entries.set(urlPath, { kind: "memory", data, modified: new Date() });
  }

  putFile(urlPath: string, root: string): void {
    this.entries.set(urlPath, { kind: "disk", root });
  }

  get(urlPath: string): HlsEntry | undefined {
    return this.entries.get(urlPath);
  }

  delete(urlPath: string): void {
    this.entries.delete(urlPath);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes held in memory, for stats. */
  get memoryBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.kind === "memory") n += e.data.length;
    return n;
  }
}
