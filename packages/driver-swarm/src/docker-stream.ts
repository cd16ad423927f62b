import { StringDecoder } from 'node:string_decoder';

export type StdStream = 'stdout' | 'stderr';

export interface Frame {
  stream: StdStream;
  payload: Buffer;
}

const HEADER = 8;

/** A Buffer answer (docker-modem buffers non-streaming requests) or a response stream, as chunks. */
export async function* chunksOf(body: Buffer | string | AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  if (typeof body === 'string') yield Buffer.from(body);
  else if (Buffer.isBuffer(body)) yield body;
  else for await (const chunk of body) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/**
 * Demultiplexes the engine's attach/log stream: each frame is an 8-byte header (stream type 1 =
 * stdout, 2 = stderr, three zero bytes, big-endian payload length) and the payload. A stream that
 * does not start with a valid header (a TTY service) is passed through as stdout.
 */
export async function* demuxFrames(chunks: AsyncIterable<Buffer>): AsyncGenerator<Frame> {
  let pending: Buffer = Buffer.alloc(0);
  let raw = false;
  for await (const chunk of chunks) {
    if (raw) {
      yield { stream: 'stdout', payload: chunk };
      continue;
    }
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= HEADER) {
      const type = pending[0]!;
      if (type > 2 || pending[1] !== 0 || pending[2] !== 0 || pending[3] !== 0) {
        raw = true;
        yield { stream: 'stdout', payload: pending };
        pending = Buffer.alloc(0);
        break;
      }
      const length = pending.readUInt32BE(4);
      if (pending.length < HEADER + length) break;
      yield { stream: type === 2 ? 'stderr' : 'stdout', payload: pending.subarray(HEADER, HEADER + length) };
      pending = pending.subarray(HEADER + length);
    }
  }
  if (pending.length > HEADER) yield { stream: pending[0] === 2 ? 'stderr' : 'stdout', payload: pending.subarray(HEADER) };
}

/** Lines per stream; a line split across frames (or a UTF-8 character split across chunks) is joined first. */
export async function* frameLines(frames: AsyncIterable<Frame>): AsyncGenerator<{ stream: StdStream; line: string }> {
  const state = {
    stdout: { decoder: new StringDecoder('utf8'), rest: '' },
    stderr: { decoder: new StringDecoder('utf8'), rest: '' },
  };
  for await (const frame of frames) {
    const s = state[frame.stream];
    const parts = (s.rest + s.decoder.write(frame.payload)).split('\n');
    s.rest = parts.pop()!;
    for (const line of parts) yield { stream: frame.stream, line: line.replace(/\r$/, '') };
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const rest = state[stream].rest + state[stream].decoder.end();
    if (rest) yield { stream, line: rest };
  }
}

/** Newline-delimited text (the engine's /events answers one JSON document per line). */
export async function* textLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of chunks) {
    const parts = (rest + decoder.write(chunk)).split('\n');
    rest = parts.pop()!;
    for (const line of parts) if (line.trim()) yield line;
  }
  rest += decoder.end();
  if (rest.trim()) yield rest;
}

/**
 * A service log line requested with timestamps and details: `<time> <k=v,k=v> <message>`, the
 * details URL-encoded by the engine. The task id among them says which replica wrote the line.
 */
export function parseServiceLogLine(line: string): { time?: string; taskId?: string; text: string } {
  const m = /^(\d{4}-\d\d-\d\dT\S+) (?:((?:[\w.-]+=[^ ,]*)(?:,[\w.-]+=[^ ,]*)*) )?(.*)$/s.exec(line);
  if (!m) return { text: line };
  const details = new URLSearchParams((m[2] ?? '').replaceAll(',', '&'));
  const taskId = details.get('com.docker.swarm.task.id') ?? undefined;
  return { time: m[1]!, ...(taskId ? { taskId } : {}), text: m[3] ?? '' };
}
