import type { Request, Response } from 'express';

const HEARTBEAT_MS = 15_000;

/**
 * Writes `items` to `res` as server-sent events until they end or the client goes away. The
 * heartbeat keeps idle streams open through proxies; `x-accel-buffering: no` stops nginx buffering.
 */
export async function writeSse<T>(
  req: Request,
  res: Response,
  abort: AbortController,
  items: AsyncIterable<T>,
  frame: (item: T) => { event: string; data: unknown; id?: string },
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  req.on('close', () => abort.abort());
  try {
    for await (const item of items) {
      const { event, data, id } = frame(item);
      if (!res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) await drained(res, abort.signal);
    }
  } catch (e) {
    // headers are out: the error can only travel as an event
    if (!abort.signal.aborted) res.write(`event: error\ndata: ${JSON.stringify({ message: e instanceof Error ? e.message : String(e) })}\n\n`);
  } finally {
    clearInterval(heartbeat);
    abort.abort();
    res.end();
  }
}

/** Resolves when the client has taken what was written, or has gone away. */
export function drained(res: Response, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
