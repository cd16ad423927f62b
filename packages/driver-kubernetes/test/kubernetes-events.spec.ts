import { describe, expect, it, jest } from '@jest/globals';
import { LABEL, type ClusterEvent } from '@berth/driver';
import { ResourceVersionGone, type KubernetesClient, type WatchNotification } from '../src/kubernetes.client.js';
import { watchEvents } from '../src/kubernetes-events.js';

const event = (uid: string, rv: string, objectName: string) => ({
  metadata: { uid, resourceVersion: rv, namespace: 'shop' },
  involvedObject: { kind: 'Deployment', name: objectName, namespace: 'shop' },
  reason: 'ScalingReplicaSet',
  message: `Scaled ${objectName}`,
  lastTimestamp: '2026-01-01T00:00:00Z',
});

/** A client whose watches are scripted: each call to watch() plays the next script. */
function fakeClient(scripts: Array<Array<WatchNotification | 'gone'>>, listed: ReturnType<typeof event>[]) {
  const watchedFrom: Array<string | undefined> = [];
  const client = {
    call: <T>(_what: string, fn: () => Promise<T>) => fn(),
    optional: <T>(_what: string, fn: () => Promise<T>) => fn(),
    core: {
      listNamespacedEvent: async ({ limit }: { limit?: number }) => ({ metadata: { resourceVersion: limit ? '100' : '500' }, items: limit ? [] : listed }),
      readNamespace: async () => ({ metadata: { name: 'shop', labels: { [LABEL.managedBy]: 'berth', [LABEL.app]: 'shop' } } }),
      listNamespacedService: async () => ({ items: [{ metadata: { labels: { [LABEL.service]: 'web' } } }] }),
    },
    async *watch(_path: string, params: { resourceVersion?: string }): AsyncGenerator<WatchNotification> {
      watchedFrom.push(params.resourceVersion);
      for (const step of scripts.shift() ?? []) {
        if (step === 'gone') throw new ResourceVersionGone();
        yield step;
      }
    },
  };
  return { client: client as unknown as KubernetesClient, watchedFrom };
}

async function take(stream: AsyncIterable<ClusterEvent>, n: number, stop: AbortController): Promise<ClusterEvent[]> {
  const out: ClusterEvent[] = [];
  for await (const e of stream) {
    out.push(e);
    if (out.length === n) stop.abort();
  }
  return out;
}

describe('event stream', () => {
  it('starts from now without a cursor, maps app and service, and resumes after each event', async () => {
    const stop = new AbortController();
    const { client, watchedFrom } = fakeClient(
      [
        [
          { type: 'ADDED', object: event('u1', '101', 'web') },
          { type: 'BOOKMARK', object: { metadata: { resourceVersion: '150' } } },
        ],
        [{ type: 'MODIFIED', object: event('u1', '151', 'web-5d4f8') }],
      ],
      [],
    );
    const got = await take(watchEvents(client, { app: 'shop', signal: stop.signal }), 2, stop);
    expect(watchedFrom).toEqual(['100', '150']);
    expect(got.map((e) => [e.id, e.cursor, e.app, e.service, e.action])).toEqual([
      ['u1:101', '101', 'shop', 'web', 'ScalingReplicaSet'],
      ['u1:151', '151', 'shop', 'web', 'ScalingReplicaSet'],
    ]);
  });

  it('on 410 Gone lists the events that still exist and watches again from the list', async () => {
    const stop = new AbortController();
    const { client, watchedFrom } = fakeClient(
      [['gone'], [{ type: 'ADDED', object: event('u3', '501', 'web') }]],
      [event('u1', '7', 'web'), event('u2', '8', 'web')],
    );
    const got = await take(watchEvents(client, { app: 'shop', since: '5', signal: stop.signal }), 3, stop);
    expect(watchedFrom).toEqual(['5', '500']);
    expect(got.map((e) => e.id)).toEqual(['u1:7', 'u2:8', 'u3:501']);
  });
});

describe('event stream: which app and service an event is about', () => {
  /** A client whose namespace reads answer from `services` as it is at the time, each only when `release` is called. */
  function slowClient(events: ReturnType<typeof event>[]) {
    const state = { services: ['web'], reads: 0, pending: [] as Array<() => void> };
    const client = {
      call: <T>(_what: string, fn: () => Promise<T>) => fn(),
      optional: <T>(_what: string, fn: () => Promise<T>) => fn(),
      core: {
        listNamespacedEvent: async () => ({ metadata: { resourceVersion: '100' }, items: [] }),
        readNamespace: () => {
          state.reads++;
          return new Promise((resolve) =>
            state.pending.push(() => resolve({ metadata: { name: 'shop', labels: { [LABEL.managedBy]: 'berth', [LABEL.app]: 'shop' } } })),
          );
        },
        listNamespacedService: async () => ({ items: state.services.map((s) => ({ metadata: { labels: { [LABEL.service]: s } } })) }),
      },
      async *watch(): AsyncGenerator<WatchNotification> {
        for (const e of events) yield { type: 'ADDED', object: e };
        await new Promise(() => undefined);
      },
    };
    const release = () => state.pending.splice(0).forEach((r) => r());
    return { client: client as unknown as KubernetesClient, state, release };
  }

  it('past its TTL, the lookup answers at once and is read again in the background; a service it cannot name is worth the wait', async () => {
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const stop = new AbortController();
      const { client, state, release } = slowClient([event('u1', '101', 'web-1'), event('u2', '102', 'web-2'), event('u3', '103', 'api-1')]);
      const stream = watchEvents(client, { app: 'shop', signal: stop.signal })[Symbol.asyncIterator]();
      const first = stream.next();
      await new Promise((r) => setImmediate(r));
      // the namespace was read ahead, once, before any event
      expect(state.reads).toBe(1);
      release();
      expect((await first).value).toMatchObject({ id: 'u1:101', app: 'shop', service: 'web' });
      // past the TTL: answered from what was read, while the namespace is read again
      now += 6_000;
      expect((await stream.next()).value).toMatchObject({ id: 'u2:102', app: 'shop', service: 'web' });
      expect(state.reads).toBe(2);
      // an object no known service is named for waits for that read, and is named by it
      state.services = ['web', 'api'];
      const third = stream.next();
      await new Promise((r) => setImmediate(r));
      release();
      expect((await third).value).toMatchObject({ id: 'u3:103', app: 'shop', service: 'api' });
      expect(state.reads).toBe(2);
      stop.abort();
    } finally {
      clock.mockRestore();
    }
  });

  it('asks the read model first, and the API server not at all when it knows the namespace', async () => {
    const stop = new AbortController();
    const { client, state } = slowClient([event('u1', '101', 'db-0')]);
    const stream = watchEvents(client, { app: 'shop', signal: stop.signal }, (ns) => (ns === 'shop' ? { app: 'shop', services: ['db'] } : undefined));
    expect((await stream[Symbol.asyncIterator]().next()).value).toMatchObject({ app: 'shop', service: 'db' });
    expect(state.reads).toBe(0);
    stop.abort();
  });
});
