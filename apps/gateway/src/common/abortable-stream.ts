/**
 * An async iterator over what `open(signal)` returns, whose return() aborts the signal at once. A
 * subscription written as an async generator cannot be stopped while it awaits its next item
 * (return() waits for the next yield), so a quiet stream would stay open after its client left;
 * this one ends the underlying stream (event subscription, log connection) as soon as GraphQL lets
 * go of it. Opening is awaited first, so a bad argument fails the subscription itself.
 */
export async function abortableStream<T, R>(open: (signal: AbortSignal) => Promise<AsyncIterable<T>>, map: (item: T) => R): Promise<AsyncIterableIterator<R>> {
  const abort = new AbortController();
  let iterator: AsyncIterator<T>;
  try {
    iterator = (await open(abort.signal))[Symbol.asyncIterator]();
  } catch (e) {
    abort.abort();
    throw e;
  }
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  const stream: AsyncIterableIterator<R> = {
    [Symbol.asyncIterator]: () => stream,
    async next(): Promise<IteratorResult<R>> {
      if (abort.signal.aborted) return done;
      const r = await iterator.next();
      if (r.done || abort.signal.aborted) {
        abort.abort();
        return done;
      }
      return { done: false, value: map(r.value) };
    },
    async return(): Promise<IteratorResult<R>> {
      abort.abort();
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
      return done;
    },
    async throw(e?: unknown): Promise<IteratorResult<R>> {
      abort.abort();
      throw e;
    },
  };
  return stream;
}
