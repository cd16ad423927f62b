export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** The events of a server-sent-events response body, as they arrive. */
export async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  if (!res.ok || !res.body) throw new Error(`SSE ${res.url}: ${res.status} ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let split: number;
    while ((split = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event && data !== undefined) yield { event, id: /^id: (.*)$/m.exec(frame)?.[1], data: JSON.parse(data) };
    }
  }
}

/** Reads a server-sent-events response to its end (or until `until` says stop). */
export async function readSse(url: string, token: string, until: (e: SseEvent) => boolean = () => false, timeoutMs = 120_000): Promise<SseEvent[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { authorization: `Bearer ${token}` } });
  const events: SseEvent[] = [];
  for await (const e of sseEvents(res)) {
    events.push(e);
    if (until(e)) break;
  }
  return events;
}
