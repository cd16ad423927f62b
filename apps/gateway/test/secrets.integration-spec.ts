import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dockerApi } from './docker-api.js';
import { type RunningGateway, startGatewayWithCluster } from './harness.js';

/**
 * Write-only secrets in app specs, through the API, on each orchestrator: a value goes in once and
 * comes back out nowhere (responses, revisions, diffs, plans, operations, audit, GraphQL, logs);
 * the replicas read it as a file; a new value rolls the service; a rollback brings the old one back.
 */
const backends = [
  { kind: 'swarm' as const, enabled: process.env.BERTH_SKIP_SWARM !== '1' },
  { kind: 'kubernetes' as const, enabled: process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG },
];
for (const b of backends) if (!b.enabled) console.warn(`\n*** secrets tests on ${b.kind} are SKIPPED ***\n`);

const TIMEOUT = 180_000;

/** What replica 1 of a Swarm service reads at `file` (an exec in its container, over the engine API). */
async function readInSwarmReplica(service: string, file: string): Promise<string> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`], status: ['running'] }));
  const containers = JSON.parse((await dockerApi('GET', `/containers/json?filters=${filters}`)).body) as { Id: string }[];
  if (!containers[0]) throw new Error(`no running container of ${service}`);
  const exec = JSON.parse(
    (await dockerApi('POST', `/containers/${containers[0].Id}/exec`, { Cmd: ['cat', file], AttachStdout: true, AttachStderr: true, Tty: true })).body,
  ) as {
    Id: string;
  };
  return (await dockerApi('POST', `/exec/${exec.Id}/start`, { Detach: false, Tty: true })).body;
}

describe.each(backends.filter((b) => b.enabled))('write-only app secrets on $kind', ({ kind }) => {
  let gw: RunningGateway;
  const app = `vault-${kind.slice(0, 4)}-${Date.now().toString(36)}`;
  const base = '/v1/clusters/c1/apps';
  const first = `first-planted-value-${Date.now()}`;
  const second = `second-planted-value-${Date.now()}`;
  const specWith = (secret: Record<string, string>) => ({
    name: app,
    secrets: { 'api-key': secret },
    services: {
      api: {
        image: 'berth-test/busybox:1',
        secrets: [{ source: 'api-key', target: 'key.txt', mode: 0o400 }],
        update: { monitor: '1s' },
      },
    },
  });
  const fileInReplica = () => readInSwarmReplica(`${app}_api`, '/run/secrets/key.txt');

  beforeAll(async () => {
    gw = await startGatewayWithCluster(kind, 'berth_secrets');
  }, 60_000);

  afterAll(async () => {
    await gw?.call('DELETE', `${base}/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
  });

  it('refuses a Compose reference to a secret that has no value yet, and records nothing', async () => {
    const compose = `name: ${app}\nservices:\n  api:\n    image: berth-test/busybox:1\n    secrets: [api_key]\nsecrets:\n  api_key:\n    file: ./api_key.txt\n`;
    const res = await gw.call('POST', base, compose);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'secrets.api-key', message: expect.stringMatching(/no value is stored/) })]);
    expect((await gw.call('GET', `${base}/${app}`)).status).toBe(404);
    expect((await gw.call('GET', base)).body.items).toEqual([]);
  });

  it(
    'deploys with a secret value, shows only its version, and the replica reads the value as a file',
    async () => {
      const res = await gw.call('POST', `${base}?wait=true`, specWith({ value: first }));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ changed: true, revision: 1, operation: { status: 'succeeded' } });
      const state = await gw.call('GET', `${base}/${app}`);
      const version = state.body.spec.secrets['api-key'].version as string;
      expect(state.body.spec.secrets['api-key']).toEqual({ version: expect.stringMatching(/^[0-9a-f]{12}$/) });
      expect(state.body.spec.services.api.secrets).toEqual([{ source: 'api-key', target: 'key.txt', mode: 0o400, version }]);
      expect(state.body.services).toEqual([expect.objectContaining({ service: 'api', inSync: true })]);
      if (kind === 'swarm') expect(await fileInReplica()).toBe(first);
    },
    TIMEOUT,
  );

  it('re-applying the same value, or {} (keep), or the version shown, changes nothing', async () => {
    for (const secret of [{ value: first }, {}]) {
      const again = await gw.call('POST', `${base}?wait=true`, specWith(secret));
      expect(again.body).toMatchObject({ changed: false, revision: 1 });
    }
    const shown = (await gw.call('GET', `${base}/${app}`)).body.spec;
    expect((await gw.call('POST', `${base}?wait=true`, shown)).body).toMatchObject({ changed: false, revision: 1 });
    const unknown = await gw.call('POST', base, specWith({ version: '000000000000' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([expect.objectContaining({ path: 'secrets.api-key.version' })]);
  });

  it(
    'a new value rolls the service to a new version; a rollback to revision 1 brings the first value back',
    async () => {
      const plan = await gw.call('POST', `${base}/plan`, specWith({ value: second }));
      expect(plan.status).toBe(200);
      expect(plan.body.changed).toBe(true);
      const res = await gw.call('POST', `${base}?wait=true`, specWith({ value: second }));
      expect(res.body).toMatchObject({ changed: true, revision: 2, operation: { status: 'succeeded' } });
      const diff = await gw.call('GET', `${base}/${app}/revisions/diff?from=1&to=2`);
      expect(diff.body.changes.map((c: { path: string }) => c.path)).toEqual(
        expect.arrayContaining(['secrets.api-key.version', 'services.api.secrets[0].version']),
      );
      if (kind === 'swarm') expect(await fileInReplica()).toBe(second);

      const back = await gw.call('POST', `${base}/${app}/rollback?wait=true`, { revision: 1 });
      expect(back.body).toMatchObject({ changed: true, revision: 3, operation: { status: 'succeeded' } });
      const r1 = await gw.call('GET', `${base}/${app}/revisions/1`);
      expect((await gw.call('GET', `${base}/${app}`)).body.spec.secrets).toEqual(r1.body.spec.secrets);
      if (kind === 'swarm') expect(await fileInReplica()).toBe(first);
      // {} keeps what the current revision runs (the first value), not the newest stored
      expect((await gw.call('POST', `${base}?wait=true`, specWith({}))).body).toMatchObject({ changed: false, revision: 3 });
    },
    TIMEOUT,
  );

  it('the values appear in no response, GraphQL answer, audit entry, operation record or log line', async () => {
    const ops = await gw.call('GET', `/v1/operations?cluster=c1&app=${app}`);
    expect(ops.body.items.length).toBeGreaterThanOrEqual(3);
    for (const op of ops.body.items) await gw.call('GET', `/v1/operations/${op.id}`);
    await gw.call('GET', '/v1/audit?limit=200');
    await gw.call('GET', `${base}/${app}/revisions`);
    for (const n of [1, 2, 3]) await gw.call('GET', `${base}/${app}/revisions/${n}`);
    const gql = await gw.graphql(`{ app(cluster: "c1", name: "${app}") { spec revisions { items { number spec } } operations { items { id kind } } } }`);
    expect(JSON.stringify(gql)).toContain('api-key');
    const seen = `${gw.logs()}\n${gw.responses()}`;
    for (const planted of [first, second]) {
      expect(seen).not.toContain(planted);
      expect(seen).not.toContain(Buffer.from(planted).toString('base64'));
    }
  });
});
