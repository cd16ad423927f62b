import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ADMIN_TOKEN, type RunningGateway, startGatewayWithCluster } from './harness.js';

/**
 * Compose files of the corpus (packages/model/test/compose-corpus) through the gateway: the
 * conversion report on REST and GraphQL, refusals as 400 naming the Compose key, and a few files
 * deployed on the real swarm and the real Kubernetes node with the test images given for the import.
 */
const corpusDir = path.join(import.meta.dirname, '../../../packages/model/test/compose-corpus');
const corpus = (file: string) => readFileSync(path.join(corpusDir, file), 'utf8');

const backends = [
  { kind: 'swarm' as const, enabled: process.env.BERTH_SKIP_SWARM !== '1' },
  { kind: 'kubernetes' as const, enabled: process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG },
];
for (const b of backends) if (!b.enabled) console.warn(`\n*** Compose corpus deploys on ${b.kind} are SKIPPED ***\n`);

const TIMEOUT = 240_000;

/**
 * On Kubernetes, containers run only on the test cluster's real node (the others are kwok's): the
 * file deployed there gets the placement that pins it (packages/testenv/k8s/lib.sh), as a user's own
 * Compose file would for a node pool.
 */
function onRealNode(yaml: string, kind: 'swarm' | 'kubernetes'): string {
  if (kind === 'swarm') return yaml;
  const doc = parse(yaml) as { services: Record<string, { deploy?: Record<string, unknown> }> };
  for (const svc of Object.values(doc.services)) svc.deploy = { ...svc.deploy, placement: { constraints: ['node.labels.berth-runtime == containers'] } };
  return stringify(doc);
}
type Entry = { key: string; status: string; note?: string; orchestrators?: Record<string, { status: string; note: string }> };

describe.each(backends.filter((b) => b.enabled))('Compose corpus through the gateway on $kind', ({ kind }) => {
  let gw: RunningGateway;
  const suffix = `${kind.slice(0, 4)}-${Date.now().toString(36)}`;
  const base = '/v1/clusters/c1/apps';
  const deployed: string[] = [];

  beforeAll(async () => {
    gw = await startGatewayWithCluster(kind, `berth_compose_${kind.slice(0, 4)}`);
  }, 60_000);

  afterAll(async () => {
    for (const app of deployed) await gw?.call('DELETE', `${base}/${app}?volumes=true&wait=true`).catch(() => undefined);
    await gw?.close();
  });

  it('converts a corpus file on REST (YAML and JSON request) with a report of every key', async () => {
    const yaml = corpus('09-profiles.yml');
    const res = await gw.call('POST', '/v1/compose/convert', yaml);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.spec.services)).toEqual(['app', 'db']);
    expect(res.body.report.profiles).toEqual({ active: [], skippedServices: ['adminer', 'mailcatcher', 'load-test'] });
    expect(res.body.report.entries).toContainEqual({ key: 'services.adminer', status: 'dropped', note: expect.stringMatching(/profile "debug"/) });
    expect(res.body.report.entries).toContainEqual({ key: 'services.db.healthcheck.retries', status: 'carried' });
    const withProfile = await gw.call('POST', '/v1/compose/convert?profile=debug', yaml);
    expect(Object.keys(withProfile.body.spec.services)).toEqual(['app', 'db', 'adminer', 'mailcatcher']);
    const json = await gw.call('POST', '/v1/compose/convert', {
      compose: corpus('07-interpolation.yml'),
      env: { TAG: '2.1.0', DB_PASS: 'pw' },
    });
    expect(json.status).toBe(200);
    expect(json.body.spec).toMatchObject({ name: 'interp', services: { api: { image: 'registry.example.com/api:2.1.0' } } });
  });

  it('refuses with 400 naming the Compose key and what to do: a required variable, relative paths without a folder, an alias bomb, a build-only service', async () => {
    const required = await gw.call('POST', '/v1/compose/convert', corpus('08-required-variable.yml'));
    expect(required.status).toBe(400);
    expect(required.body.error.details).toEqual([
      { path: 'services.app.environment.API_TOKEN', message: 'required variable API_TOKEN is not set: API_TOKEN must be set (see README)' },
    ]);
    const relative = await gw.call('POST', '/v1/compose/convert', corpus('16-relative-binds.yml'));
    expect(relative.status).toBe(400);
    expect(relative.body.error.details[0]).toEqual({
      path: 'services.traefik.volumes[0]',
      message: expect.stringMatching(/give the folder as baseDir \(\?baseDir=/),
    });
    const resolved = await gw.call('POST', '/v1/compose/convert?baseDir=/srv/proxy', corpus('16-relative-binds.yml'));
    expect(resolved.status).toBe(200);
    expect(resolved.body.spec.services.traefik.volumes[0]).toEqual({
      type: 'hostPath',
      source: '/srv/proxy/traefik.yml',
      target: '/etc/traefik/traefik.yml',
      readOnly: true,
    });
    const bomb = await gw.call('POST', '/v1/compose/convert', corpus('06-alias-bomb.yml'));
    expect(bomb.status).toBe(400);
    expect(bomb.body.error.details[0].message).toMatch(/a bound against alias bombs/);
    const build = await gw.call('POST', '/v1/compose/convert', corpus('11-build-only-no-image.yml'));
    expect(build.status).toBe(400);
    expect(build.body.error.details.map((d: { path: string }) => d.path)).toEqual(['services.frontend', 'services.backend']);
  });

  it('answers the report on GraphQL', async () => {
    const res = await gw.graphql(
      `query($yaml: String!, $images: [String!]) { convertCompose(yaml: $yaml, images: $images) {
        spec report { summary { carried approximated dropped } profiles { skippedServices }
          entries { key status note orchestrators { swarm { status note } kubernetes { status note } } } } } }`,
      { yaml: corpus('23-monitoring.yml'), images: [] },
    );
    expect(res.errors).toBeUndefined();
    const entries: Entry[] = res.data.convertCompose.report.entries;
    // privileged is carried (the cluster's workload policy decides) but Swarm services cannot run it
    expect(entries.find((e) => e.key === 'services.cadvisor.privileged')).toMatchObject({
      status: 'carried',
      orchestrators: { swarm: { status: 'refused' }, kubernetes: null },
    });
    expect(entries.find((e) => e.key === 'configs')).toMatchObject({ status: 'dropped' });
    expect(res.data.convertCompose.report.summary.dropped).toBeGreaterThan(0);
  });

  it(
    "plans a Swarm stack: the report carries this orchestrator's own notes at the Compose keys",
    async () => {
      const res = await gw.call('POST', `${base}/plan?name=vote-${suffix}`, corpus('03-voting-swarm-stack.yml'));
      expect(res.status).toBe(200);
      const entries: Entry[] = res.body.report.entries;
      const restart = entries.find((e) => e.key === 'services.redis.deploy.restart_policy.condition');
      if (kind === 'kubernetes') {
        // from the Kubernetes driver's plan, named by the key the user wrote
        expect(restart?.orchestrators?.kubernetes?.note).toMatch(/Kubernetes always restarts/);
        expect(entries.find((e) => e.key === 'services.db.deploy.placement.constraints[0]')?.orchestrators?.kubernetes?.status).toBe('dropped');
      } else {
        expect(restart).toMatchObject({ status: 'carried' });
        expect(entries.find((e) => e.key === 'services.visualizer.volumes[0]')?.orchestrators?.swarm?.note).toMatch(/must exist on every node/);
      }
    },
    TIMEOUT,
  );

  it(
    'deploys corpus files with the test images given for the import: a build-only stack and a minimal file',
    async () => {
      const todo = `todo-${suffix}`;
      const images = ['frontend=berth-test/http:1', 'backend=berth-test/busybox:1', 'mongo=berth-test/busybox:1']
        .map((i) => `image=${encodeURIComponent(i)}`)
        .join('&');
      const res = await gw.call('POST', `${base}?wait=true&name=${todo}&${images}`, onRealNode(corpus('10-build-only.yml'), kind));
      expect(res.status).toBe(200);
      deployed.push(todo);
      expect(res.body).toMatchObject({ changed: true, operation: { status: 'succeeded' } });
      expect(res.body.report.entries).toContainEqual(
        expect.objectContaining({ key: 'services.frontend', status: 'approximated', note: 'image given for the import: berth-test/http:1' }),
      );
      const state = await gw.call('GET', `${base}/${todo}`);
      expect(state.body.services.map((s: { service: string; inSync: boolean }) => [s.service, s.inSync])).toEqual([
        ['backend', true],
        ['frontend', true],
        ['mongo', true],
      ]);
      const frontend = await gw.call('GET', `${base}/${todo}/services/frontend`);
      expect(frontend.body.endpoints).toContainEqual(expect.objectContaining({ ready: true, image: expect.stringContaining('berth-test/http:1') }));
      const minimal = `minimal-${suffix}`;
      const min = await gw.call('POST', `${base}?wait=true`, {
        compose: onRealNode(corpus('30-minimal.yml'), kind),
        name: minimal,
        images: { web: 'berth-test/http:1' },
      });
      expect(min.status).toBe(200);
      deployed.push(minimal);
      expect(min.body).toMatchObject({ changed: true, operation: { status: 'succeeded' }, report: { summary: { dropped: 0 } } });
      const web = await gw.call('GET', `${base}/${minimal}/services/web`);
      expect(web.body.endpoints.some((e: { ready: boolean; image: string }) => e.ready && e.image.includes('berth-test/http:1'))).toBe(true);
      // the revision records the import as Compose, with its warnings
      const revisions = await gw.call('GET', `${base}/${minimal}/revisions`, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(revisions.body.items[0]).toMatchObject({ source: 'compose' });
    },
    TIMEOUT,
  );
});
