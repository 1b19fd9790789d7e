/**
 * A map with a size bound that evicts the least recently seen key. Baseline state is keyed by things an attacker
 * controls (client addresses, user ids, routes), so every map that grows with traffic is one of these, and every
 * eviction is counted so the operator can see when the bound is too small.
 */
export class BoundedMap<K, V> {
  /** Keys dropped because of the bound, since creation (restored with the state). */
  evictions = 0;
  private readonly map = new Map<K, V>();

  constructor(
    readonly maxSize: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!(maxSize >= 1)) throw new RangeError('BoundedMap: maxSize must be at least 1');
  }

  get size(): number {
    return this.map.size;
  }

  /** Read and mark as recently seen. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      // Map iterates in insertion order: re-inserting moves the key to the most recent end.
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** Read without changing the recency order (queries for charts must not change what gets evicted). */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.maxSize) {
      const oldest = this.map.keys().next().value as K;
      const evicted = this.map.get(oldest) as V;
      this.map.delete(oldest);
      this.evictions++;
      this.onEvict?.(oldest, evicted);
    }
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Least recently seen first: restoring entries in this order restores the eviction order too. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}

/**
 * Two bounded maps behind one, each key in the one `inSecond` picks: a flood of keys of one kind (principals known
 * only by an address, which a sender makes up by the hundred thousand) evicts only its own kind, never the other.
 */
export class PartitionedBoundedMap<K, V> {
  private readonly first: BoundedMap<K, V>;
  private readonly second: BoundedMap<K, V>;

  constructor(
    firstMaxSize: number,
    secondMaxSize: number,
    private readonly inSecond: (key: K) => boolean,
    onEvict?: (key: K, value: V) => void,
  ) {
    this.first = new BoundedMap(firstMaxSize, onEvict);
    this.second = new BoundedMap(secondMaxSize, onEvict);
  }

  private of(key: K): BoundedMap<K, V> {
    return this.inSecond(key) ? this.second : this.first;
  }

  get size(): number {
    return this.first.size + this.second.size;
  }

  /** Evictions from both; a count restored from a snapshot is kept with the first. */
  get evictions(): number {
    return this.first.evictions + this.second.evictions;
  }

  set evictions(count: number) {
    this.first.evictions = count;
    this.second.evictions = 0;
  }

  get(key: K): V | undefined {
    return this.of(key).get(key);
  }

  peek(key: K): V | undefined {
    return this.of(key).peek(key);
  }

  set(key: K, value: V): void {
    this.of(key).set(key, value);
  }

  /** Each part least recently seen first, the first part before the second. */
  *values(): IterableIterator<V> {
    yield* this.first.values();
    yield* this.second.values();
  }
}
