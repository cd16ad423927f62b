import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../src/cli.js';
import { ADMIN_TOKEN, type RunningGateway, startGateway } from '../../../apps/gateway/test/harness.js';

const swarm = process.env.BERTH_SKIP_SWARM !== '1';
if (!swarm) console.warn('\n*** CLI tests SKIPPED (BERTH_SKIP_SWARM=1) ***\n');

(swarm ? describe : describe.skip)('berth CLI against a real gateway and swarm', () => {
  let gw: RunningGateway;
  let dir: string;
  const app = `cli-${Date.now().toString(36)}`;

  const runAs = async (token: string, args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: { BERTH_URL: gw.url, BERTH_TOKEN: token } });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const run = (...args: string[]) => runAs(ADMIN_TOKEN, args);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-cli-'));
    gw = await startGateway({ BERTH_DATA_DIR: dir });
    expect(
      (await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' })).status,
    ).toBe(201);
    await writeFile(
      path.join(dir, 'docker-compose.yml'),
      `name: ${app}\nservices:\n  web:\n    image: berth-test/http:1\n    deploy:\n      replicas: 2\n      update_config: { parallelism: 1, failure_action: rollback, monitor: 3s }\n`,
    );
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ name: app, services: { web: { image: 'x', replicas: -1 } } }));
  }, 60_000);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/local/apps/${app}-s?wait=true`).catch(() => undefined);
    await gw?.call('DELETE', `/v1/clusters/local/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("sets and reads a cluster's workload policy; an operator's refused mount names the field and the rule", async () => {
    await writeFile(path.join(dir, 'policy.yml'), 'hostPaths:\n  - prefix: /srv/data\n    readOnly: true\n');
    const set = await run('policy', 'set', 'local', path.join(dir, 'policy.yml'));
    expect(set).toMatchObject({ code: 0, out: expect.stringMatching(/^local: policy set by token:/) });
    const got = await run('--json', 'policy', 'get', 'local');
    expect(JSON.parse(got.out)).toMatchObject({ isDefault: false, policy: { hostPaths: [{ prefix: '/srv/data', readOnly: true }] } });
    const operator = (await gw.call('POST', '/v1/tokens', { name: 'cli-operator', grants: [{ role: 'operator', cluster: 'local', app: `${app}-p` }] })).body
      .token as string;
    await writeFile(
      path.join(dir, 'mount.json'),
      JSON.stringify({ name: `${app}-p`, services: { web: { image: 'x', volumes: [{ type: 'hostPath', source: '/srv/data/x', target: '/d' }] } } }),
    );
    const refused = await runAs(operator, ['apply', 'local', path.join(dir, 'mount.json')]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/403 FORBIDDEN/);
    expect(refused.err).toMatch(/services\.web\.volumes\[0\]\.source: .*read-only.*\[hostPath\.readOnly\]/);
    const plan = await runAs(operator, ['plan', 'local', path.join(dir, 'mount.json')]);
    expect(plan.out).toMatch(/REFUSED by policy: services\.web\.volumes\[0\]\.source/);
    await writeFile(path.join(dir, 'default.json'), '{}');
    expect((await run('policy', 'set', 'local', path.join(dir, 'default.json'))).code).toBe(0);
    expect(JSON.parse((await run('--json', 'policy', 'get', 'local')).out).policy.hostPaths).toEqual([]);
  });

  it('lists clusters', async () => {
    const r = await run('clusters');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^local\tswarm\thealthy\t/);
  });

  it('applies a Compose file and waits, then says when nothing changes', async () => {
    const first = await run('apply', 'local', path.join(dir, 'docker-compose.yml'), '--wait');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/operation .*: apply succeeded|: succeeded$/m);
    const again = await run('apply', 'local', path.join(dir, 'docker-compose.yml'), '--wait');
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/nothing to change/) });
  }, 120_000);

  it("reads a Compose file's secret files here and sends only the values; the gateway shows a version", async () => {
    const value = `cli-secret-${Date.now()}`;
    await writeFile(path.join(dir, 'db_password.txt'), value);
    await writeFile(
      path.join(dir, 'secret-compose.yml'),
      `name: ${app}-s\nservices:\n  db:\n    image: berth-test/busybox:1\n    secrets: [db_password]\nsecrets:\n  db_password:\n    file: ./db_password.txt\n`,
    );
    const r = await run('apply', 'local', path.join(dir, 'secret-compose.yml'), '--compose', '--wait');
    expect(r.code).toBe(0);
    const state = await gw.call('GET', `/v1/clusters/local/apps/${app}-s`);
    expect(state.body.spec.secrets).toEqual({ 'db-password': { version: expect.stringMatching(/^[0-9a-f]{12}$/) } });
    expect(JSON.stringify(state.body)).not.toContain(value);
    const again = await run('apply', 'local', path.join(dir, 'secret-compose.yml'), '--compose', '--wait');
    expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/nothing to change/) });
  }, 120_000);

  it('converts a Compose project as docker compose reads it: .env, env_file, relative paths; a table and JSON report', async () => {
    const project = path.join(dir, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(path.join(project, '.env'), 'TAG=3\n');
    await writeFile(path.join(project, 'api.env'), 'LOG_LEVEL=debug\n');
    await writeFile(
      path.join(project, 'compose.yaml'),
      'services:\n  api:\n    build: .\n    env_file: api.env\n    environment: { VERSION: "${TAG:?}" }\n    volumes: ["./conf:/conf:ro"]\n    healthcheck: { test: ["CMD", "true"], retries: 500 }\n  debug:\n    image: berth-test/busybox:1\n    profiles: [debug]\n',
    );
    const table = await run('convert', path.join(project, 'compose.yaml'), '--image', 'api=berth-test/http:1');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^KEY +STATUS +SWARM +KUBERNETES +HOW \/ WHY$/m);
    expect(table.out).toMatch(/^services\.api\.healthcheck\.retries +approximated .*capped at 100/m);
    expect(table.out).toMatch(/not deployed \(profiles\): debug$/m);
    const json = await run('convert', path.join(project, 'compose.yaml'), '--image', 'api=berth-test/http:1', '--profile', 'debug', '-o', 'json');
    const result = JSON.parse(json.out);
    expect(result.spec.name).toBe('project');
    expect(result.spec.services.api).toMatchObject({ image: 'berth-test/http:1', env: { VERSION: '3', LOG_LEVEL: 'debug' } });
    expect(result.spec.services.api.volumes).toEqual([{ type: 'hostPath', source: path.join(project, 'conf'), target: '/conf', readOnly: true }]);
    expect(Object.keys(result.spec.services)).toEqual(['api', 'debug']);
    const refused = await run('convert', path.join(project, 'compose.yaml'));
    expect(refused).toMatchObject({ code: 2, err: expect.stringMatching(/services\.api: has only a "build" section: .*--image api=<ref>/) });
  });

  it('plans and applies a Compose file with --image, printing what each key becomes', async () => {
    await writeFile(path.join(dir, 'build-compose.yml'), `name: ${app}-b\nservices:\n  web:\n    build: .\n    ports: ["8080:80"]\n`);
    const plan = await run('plan', 'local', path.join(dir, 'build-compose.yml'), '--compose', '--image', 'web=berth-test/http:1');
    expect(plan.code).toBe(0);
    expect(plan.out).toMatch(/^services\.web\.build +dropped/m);
    const applied = await run('apply', 'local', path.join(dir, 'build-compose.yml'), '--compose', '--image', 'web=berth-test/http:1', '--wait');
    expect(applied.code).toBe(0);
    expect(applied.err).toMatch(/warning: services\.web: image given for the import: berth-test\/http:1/);
    await gw.call('DELETE', `/v1/clusters/local/apps/${app}-b?wait=true`);
  }, 120_000);

  it('exits 1 when a rollout rolls back, with the reason', async () => {
    const r = await run('set-image', 'local', app, 'web', 'berth-test/unhealthy:1', '--wait');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/rolled_back - web: /);
  }, 180_000);

  it('exits 2 on refused input, naming the field, and on a missing file', async () => {
    const bad = await run('apply', 'local', path.join(dir, 'bad.json'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/services\.web\.replicas: /);
    expect((await run('apply', 'local', path.join(dir, 'nope.yml'))).code).toBe(2);
    expect((await run('scale', 'nowhere', app, 'web', '2')).code).toBe(2);
  });

  it('prints the history as JSON for scripts', async () => {
    const r = await run('--json', 'ops', '--app', app);
    expect(r.code).toBe(0);
    const ops = JSON.parse(r.out) as { kind: string; status: string }[];
    expect(ops.map((o) => `${o.kind}:${o.status}`)).toEqual(['update:rolled_back', 'apply:succeeded']);
  });
});
