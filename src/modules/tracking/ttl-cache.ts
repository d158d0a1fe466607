interface Entry<V> {
  value: V;
  expires: number;
}

/**
 * A small in-process cache with per-entry lifetimes, a size bound and single-flight loading:
 * concurrent misses for one key share one load. Absent values (null) are cached too, for
 * `negativeTtlMs`, so a flood of unknown keys does not become a flood of queries.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V | null>>();
  private readonly loading = new Map<string, Promise<V | null>>();

  constructor(private readonly options: { ttlMs: number; negativeTtlMs: number; maxEntries: number; now?: () => number }) {}

  /** The cached value if fresh; undefined on a miss. */
  peek(key: string): V | null | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  get(key: string, load: (key: string) => Promise<V | null>): V | null | Promise<V | null> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load(key).then(
        (value) => {
          this.set(key, value);
          this.loading.delete(key);
          return value;
        },
        (error) => {
          this.loading.delete(key);
          throw error;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  set(key: string, value: V | null): void {
    const ttl = value === null ? this.options.negativeTtlMs : this.options.ttlMs;
    if (ttl <= 0) return;
    if (this.entries.size >= this.options.maxEntries && !this.entries.has(key)) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttl });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }
}
