/**
 * An async iterable fed by pushes, that starts listening when it is created (not at the first
 * read), so a caller can subscribe, replay history, and miss nothing in between. It ends when the
 * signal aborts; `detach` runs once, whether or not anybody read from it.
 */
export function liveQueue<T>(attach: (push: (item: T) => void) => () => void, signal: AbortSignal): AsyncIterable<T> {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let detached = false;
  const detachPush = attach((item) => {
    queue.push(item);
    wake?.();
  });
  const stop = () => {
    if (detached) return;
    detached = true;
    detachPush();
    signal.removeEventListener('abort', onAbort);
  };
  const onAbort = () => {
    stop();
    wake?.();
  };
  signal.addEventListener('abort', onAbort);
  if (signal.aborted) onAbort();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        while (!signal.aborted || queue.length) {
          const next = queue.shift();
          if (next !== undefined) {
            yield next;
            continue;
          }
          if (signal.aborted) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        stop();
      }
    },
  };
}
