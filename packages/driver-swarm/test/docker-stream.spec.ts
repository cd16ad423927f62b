import { describe, expect, it } from '@jest/globals';
import { demuxFrames, frameLines, parseServiceLogLine, textLines } from '../src/docker-stream.js';

function frame(type: 1 | 2, text: string | Buffer): Buffer {
  const payload = typeof text === 'string' ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const i of items) out.push(i);
  return out;
}

describe('demuxFrames + frameLines', () => {
  it('splits the multiplexed stream into stdout and stderr lines, across chunk boundaries', async () => {
    const bytes = Buffer.concat([frame(1, 'hello\nwor'), frame(2, 'oops\n'), frame(1, 'ld\n')]);
    // cut inside a header and inside a payload
    const lines = await collect(frameLines(demuxFrames(chunks(bytes.subarray(0, 5), bytes.subarray(5, 20), bytes.subarray(20)))));
    expect(lines).toEqual([
      { stream: 'stdout', line: 'hello' },
      { stream: 'stderr', line: 'oops' },
      { stream: 'stdout', line: 'world' },
    ]);
  });

  it('joins a UTF-8 character split between frames', async () => {
    const text = Buffer.from('café\n');
    const lines = await collect(frameLines(demuxFrames(chunks(frame(1, text.subarray(0, 4)), frame(1, text.subarray(4))))));
    expect(lines).toEqual([{ stream: 'stdout', line: 'café' }]);
  });

  it('passes a stream without headers (TTY) through as stdout', async () => {
    const lines = await collect(frameLines(demuxFrames(chunks(Buffer.from('plain text\nmore\n')))));
    expect(lines.map((l) => l.line)).toEqual(['plain text', 'more']);
  });
});

describe('textLines', () => {
  it('yields one document per line, whatever the chunking', async () => {
    const lines = await collect(textLines(chunks(Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}\n\n{"c":3}'))));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });
});

describe('parseServiceLogLine', () => {
  it('separates time, the writing task and the message, which may itself contain "k=v" and spaces', () => {
    const line = '2026-11-25T16:20:03.753489897Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 user=bob logged in';
    expect(parseServiceLogLine(line)).toEqual({ time: '2026-11-25T16:20:03.753489897Z', taskId: 't1', text: 'user=bob logged in' });
  });

  it('keeps a line without the expected prefix whole', () => {
    expect(parseServiceLogLine('just text')).toEqual({ text: 'just text' });
  });
});
