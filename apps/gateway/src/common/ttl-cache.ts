/**
 * The in-process cache of the request path (token rows, cluster rows): an entry is used for `ttlMs`
 * after it was read, at most `max` are kept, and a `forget` that happens while a read is under way
 * wins (the row read before it is not kept after it). Misses are not remembered.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; loadedAt: number }>();
  /** Bumped by every `forget`. */
  private epoch = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  /** The entry while it is fresh, else `read()` (then kept); undefined, and nothing kept, when `read` finds nothing. */
  async load(key: K, read: () => Promise<V | undefined>): Promise<V | undefined> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.loadedAt < this.ttlMs) return hit.value;
    const epoch = this.epoch;
    const value = await read();
    if (value === undefined) {
      this.entries.delete(key);
      return undefined;
    }
    if (epoch === this.epoch) this.remember(key, value, now);
    return value;
  }

  /** Drops every entry, or those `which` picks, so the next load reads them again. */
  forget(which?: (value: V, key: K) => boolean): void {
    this.epoch++;
    if (!which) this.entries.clear();
    else for (const [key, e] of this.entries) if (which(e.value, key)) this.entries.delete(key);
  }

  private remember(key: K, value: V, now: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) {
      for (const [k, e] of this.entries) if (now - e.loadedAt >= this.ttlMs) this.entries.delete(k);
      while (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { value, loadedAt: now });
  }
}
