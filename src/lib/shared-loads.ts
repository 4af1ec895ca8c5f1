/**
 * A load shared by everyone who asks for the same key within `ttlMs`: when one event reaches a
 * thousand subscribers at once, it is loaded once for all of them. A failed load is forgotten
 * at once, so the next caller tries again.
 */
export class SharedLoads<V> {
  private readonly pending = new Map<string, Promise<V>>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    let promise = this.pending.get(key);
    if (!promise) {
      promise = load();
      this.pending.set(key, promise);
      setTimeout(() => this.pending.delete(key), this.ttlMs).unref();
      promise.catch(() => this.pending.delete(key));
    }
    return promise;
  }
}
