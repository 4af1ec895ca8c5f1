import DataLoader from 'dataloader';

/** A value now, or a promise of it when it still has to be read. */
export type MaybePromise<T> = T | Promise<T>;

/** `map` of `value`, at once when the value is at hand, else when it comes. */
export function mapMaybe<T, R>(value: MaybePromise<T>, map: (value: T) => R): MaybePromise<R> {
  return value instanceof Promise ? value.then(map) : map(value);
}

/**
 * What one GraphQL operation has loaded so far. An alias repeats its field, so without this
 * 2,400 aliased `me` were 4,800 queries racing for the pool; now they are one load. Rows
 * wanted by many parents in the same tick (the device of every trip on a page) come in one
 * statement (`= ANY(...)`) instead of one each.
 */
export class RequestCache {
  private readonly results = new Map<string, Promise<unknown>>();
  private readonly loaders = new Map<string, DataLoader<string | number, unknown>>();
  /** What each loader's batches answered, by key: a later load of the same key needs no promise. */
  private readonly settled = new Map<string, Map<string | number, unknown>>();

  /**
   * @param keep false for a subscription: its context lives as long as the subscription and
   *   each event must see fresh rows, so loads are still batched but never remembered.
   */
  constructor(private readonly keep = true) {}

  /** Whether loaded rows are remembered for the rest of the operation (not for a subscription's events). */
  get remembers(): boolean {
    return this.keep;
  }

  /** Runs `load` once per key for the whole operation; every later caller shares the result. */
  once<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (!this.keep) return load();
    let result = this.results.get(key) as Promise<T> | undefined;
    if (!result) {
      result = load();
      this.results.set(key, result);
    }
    return result;
  }

  /**
   * Answers `key` of the loader called `name` with `value` (null: there is none) for the rest of
   * the operation, as if a batch had: rows read with a page (src/graphql/related.ts). Nothing
   * for a cache that does not remember.
   */
  prime(name: string, key: string | number, value: unknown): void {
    if (!this.keep) return;
    let answered = this.settled.get(name);
    if (!answered) this.settled.set(name, (answered = new Map<string | number, unknown>()));
    answered.set(key, value);
  }

  /**
   * Loads one row by key through the loader called `name`: keys asked for in the same tick go
   * to `batch` together. A key `batch` does not answer resolves to null. The first caller's
   * `batch` serves the loader for the whole operation, so `name` must say everything the batch
   * depends on (which rows, scoped to which customer).
   *
   * A key a batch already answered is answered at once, without a promise: a field resolved
   * for every row of a page after `prefetchNodes` (src/graphql/prefetch.ts) loaded them all
   * costs graphql-js no promise per row.
   */
  load<K extends string | number, V>(name: string, key: K, batch: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>): MaybePromise<V | null> {
    const settled = this.settled.get(name);
    if (settled?.has(key)) return settled.get(key) as V | null;
    let loader = this.loaders.get(name) as DataLoader<K, V | null> | undefined;
    if (!loader) {
      loader = new DataLoader<K, V | null>(
        async (keys) => {
          const found = await batch(keys);
          const values = keys.map((key) => found.get(key) ?? null);
          for (const [i, key] of keys.entries()) this.prime(name, key, values[i]);
          return values;
        },
        { cache: this.keep },
      );
      this.loaders.set(name, loader);
    }
    return loader.load(key);
  }
}
