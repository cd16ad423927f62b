import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunningGateway, startGateway } from './harness.js';

/**
 * A cluster that becomes unreachable in the middle of a rollout: the engine is reached through a
 * loopback TCP relay to its socket, and the relay is cut. The operation must stay open with the
 * reason visible, other clusters must keep answering, and the rollout must close correctly once the
 * cluster is back.
 */
const swarm = process.env.BERTH_SKIP_SWARM !== '1';
const SOCKET = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';

class Relay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  constructor(readonly port: number) {}

  async open() {
    if (this.server?.listening) return;
    this.server = net.createServer((client) => {
      const upstream = net.connect(SOCKET);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', resolve);
    });
  }

  async cut() {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

(swarm ? describe : describe.skip)('a cluster unreachable mid-rollout', () => {
  let gw: RunningGateway;
  let dir: string;
  const relay = new Relay(21_000 + Math.floor(Math.random() * 9000));
  const app = `unreach-${Date.now().toString(36)}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-unreach-'));
    await relay.open();
    gw = await startGateway({ BERTH_DATA_DIR: dir });
    expect((await gw.call('POST', '/v1/clusters', { name: 'remote', kind: 'swarm', host: `tcp://127.0.0.1:${relay.port}` })).status).toBe(201);
    expect((await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: SOCKET })).status).toBe(201);
    const applied = await gw.call('POST', '/v1/clusters/remote/apps?wait=true', {
      name: app,
      services: { web: { image: 'berth-test/http:1', replicas: 2, update: { parallelism: 1, delay: '3s', monitor: '1s' } } },
    });
    expect(applied.body.operation.status).toBe('succeeded');
  }, 120_000);

  afterAll(async () => {
    await relay.open();
    await gw?.call('DELETE', `/v1/clusters/remote/apps/${app}?wait=true`).catch(() => undefined);
    await relay.cut();
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the operation open with the reason, serves other clusters, and closes it once the cluster is back', async () => {
    const started = await gw.call('PATCH', `/v1/clusters/remote/apps/${app}/services/web`, { image: 'berth-test/http:2' });
    expect(started.status).toBe(202);
    const id = started.body.operation.id;
    await relay.cut();

    let op: any;
    for (let i = 0; i < 60; i++) {
      op = (await gw.call('GET', `/v1/operations/${id}`)).body;
      if (op.progress.some((p: { phase: string }) => p.phase === 'waiting')) break;
      await sleep(500);
    }
    expect(op.status).toBe('running');
    expect(op.progress.find((p: { phase: string }) => p.phase === 'waiting').message).toMatch(/cluster unreachable/);
    const remote = await gw.call('GET', '/v1/clusters/remote');
    expect(remote.body.health.status).toBe('unreachable');
    const local = await gw.call('GET', '/v1/clusters/local');
    expect(local.body.health.status).toBe('healthy');
    expect((await gw.call('GET', '/v1/clusters')).status).toBe(200);

    await relay.open();
    for (let i = 0; i < 120 && op.status === 'running'; i++) {
      await sleep(500);
      op = (await gw.call('GET', `/v1/operations/${id}`)).body;
    }
    expect(op.status).toBe('succeeded');
    const web = await gw.call('GET', `/v1/clusters/remote/apps/${app}/services/web`);
    expect(web.body.endpoints.map((e: { image: string }) => e.image)).toEqual(['berth-test/http:2', 'berth-test/http:2']);
  }, 180_000);
});
