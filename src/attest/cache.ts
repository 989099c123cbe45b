/**
 * The one bounded cache of src/attest: verified chains, parsed keys and
 * certificates, checked CRLs and collateral documents are kept by content
 * up to a fixed number of entries, and the oldest entry goes first when a
 * new one comes (a hit costs one Map lookup: this is on the per-quote path).
 * Callers still check validity at `now` on every hit.
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(readonly maxEntries: number) {}

  get size(): number { return this.map.size; }
  get(key: string): V | undefined { return this.map.get(key); }
  set(key: string, value: V): V {
    this.map.delete(key);
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, value);
    return value;
  }
  delete(key: string): void { this.map.delete(key); }
  /** The cached value for `key`, or `make()`'s, kept. */
  getOrSet(key: string, make: () => V): V {
    const hit = this.map.get(key);
    return hit !== undefined ? hit : this.set(key, make());
  }
}
