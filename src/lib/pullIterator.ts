/**
 * An async iterator over batches from `pull` (null: the end). `return()`
 * releases at once; a pull in flight is discarded when it settles.
 */
export function createPullIterator<T>(
  pull: () => Promise<T[] | null>,
  release: () => Promise<unknown>,
): AsyncIterableIterator<T> & { return(): Promise<IteratorResult<T>> } {
  const buffer: T[] = [];
  let closed = false;
  const finished: IteratorResult<T> = { value: undefined, done: true };
  const close = async () => {
    closed = true;
    buffer.length = 0;
    await release();
    return finished;
  };
  const iterator = {
    async next(): Promise<IteratorResult<T>> {
      while (buffer.length === 0) {
        if (closed) return finished;
        let batch: T[] | null;
        try {
          batch = await pull();
        } catch (error) {
          await close();
          throw error;
        }
        if (batch === null) return close();
        if (!closed) buffer.push(...batch);
      }
      return { value: buffer.shift()!, done: false };
    },
    return: close,
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
