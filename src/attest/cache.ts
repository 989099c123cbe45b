/**
 * The bounded cache behind each slot of a VerifyCache: verified chains,
 * parsed keys and certificates, checked CRLs and collateral documents are
 * kept by content up to a fixed number of entries, and the oldest entry goes first when a
 * new one comes (a hit costs one Map lookup: this is on the per-quote path).
 * Callers still check validity at `now` on every hit.
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): V {
    this.map.delete(key);
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, value);
    return value;
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  /** The cached value for `key`, or `make()`'s, kept. */
  getOrSet(key: string, make: () => V): V {
    const hit = this.map.get(key);
    return hit !== undefined ? hit : this.set(key, make());
  }
}

/** A named kind of entry of a VerifyCache: its values' type and how many it keeps. */
export interface CacheSlot<V> {
  readonly name: string;
  readonly maxEntries: number;
  /** Carries V for the type checker only. */
  readonly value?: V;
}

/** Declares a slot; each module names its own (`snp.vek`, `dcap.pck`, …). `maxEntries` bounds `of(slot)`; slots used only with `derive` pass 0. */
export const cacheSlot = <V>(name: string, maxEntries: number): CacheSlot<V> => ({ name, maxEntries });

/**
 * The caches of one verifying process, handed to every verifier as
 * `VerifyContext.cache` and made once by the composition (`cloak serve`,
 * `cloak verify`): a BoundedCache per slot, so a flood of one kind (device
 * certificates) cannot evict another (CRLs), and values derived from
 * long-lived objects (trust material, a collateral source, a gathered
 * collateral object) kept as long as those objects live. Nothing in
 * src/attest keeps state of its own: without a cache, verification still
 * works, uncached.
 */
export class VerifyCache {
  private readonly slots = new Map<CacheSlot<unknown>, BoundedCache<unknown>>();
  private readonly derivations = new WeakMap<object, Map<CacheSlot<unknown>, unknown>>();

  /** The slot's cache, made on first use. */
  of<V>(slot: CacheSlot<V>): BoundedCache<V> {
    let c = this.slots.get(slot);
    if (!c) {
      c = new BoundedCache<unknown>(slot.maxEntries);
      this.slots.set(slot, c);
    }
    return c as BoundedCache<V>;
  }

  /** `make()`'s value for `owner`, kept while `owner` lives (callers must not mutate `owner` in place). */
  derive<V>(slot: CacheSlot<V>, owner: object, make: () => V): V {
    let byOwner = this.derivations.get(owner);
    if (!byOwner) {
      byOwner = new Map();
      this.derivations.set(owner, byOwner);
    }
    if (byOwner.has(slot)) return byOwner.get(slot) as V;
    const v = make();
    byOwner.set(slot, v);
    return v;
  }
}

/** `make()`'s value, kept under `key` in the slot when there is a cache. */
export function cached<V>(cache: VerifyCache | undefined, slot: CacheSlot<V>, key: string, make: () => V): V {
  return cache ? cache.of(slot).getOrSet(key, make) : make();
}

/** `make()`'s value for `owner`, kept while it lives when there is a cache. */
export function derived<V>(cache: VerifyCache | undefined, slot: CacheSlot<V>, owner: object, make: () => V): V {
  return cache ? cache.derive(slot, owner, make) : make();
}
