import { mkdir } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dockerApi } from './docker-api.js';
import { kubeGet } from './kube-api.js';
import { type RunningGateway, startGatewayWithCluster } from './harness.js';
import { AppSpec } from '@berth/model';
import { toGraphqlInput } from '../src/graphql/zod-graphql.js';

/**
 * A grant on one app is not a way to take over the node: on each orchestrator, through a real
 * gateway, an app-scoped operator cannot mount the node's root or the engine socket, run
 * privileged, add a capability or join the node's network; each refusal is a 403 naming the field
 * and the rule, is audited, and leaves nothing behind on the cluster or in Berth. An admin's
 * allowance holds on its cluster only; a tightened policy also stops a rollback.
 */
const backends = [
  { kind: 'swarm' as const, enabled: process.env.BERTH_SKIP_SWARM !== '1' },
  { kind: 'kubernetes' as const, enabled: process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG },
];
for (const b of backends) if (!b.enabled) console.warn(`\n*** workload policy tests on ${b.kind} are SKIPPED ***\n`);

const TIMEOUT = 180_000;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The app's services as the orchestrator holds them (Swarm services / Kubernetes Deployments). */
async function nativeWorkloads(kind: 'swarm' | 'kubernetes', app: string): Promise<any[]> {
  if (kind === 'swarm') {
    const filters = encodeURIComponent(JSON.stringify({ label: [`berth.io/app=${app}`] }));
    return JSON.parse((await dockerApi('GET', `/services?filters=${filters}`)).body) as any[];
  }
  const res = await kubeGet(`/apis/apps/v1/namespaces/${app}/deployments`);
  return res.status === 404 ? [] : (res.body.items as any[]);
}

/** Host paths the app's first workload mounts, read natively. */
async function nativeHostPaths(kind: 'swarm' | 'kubernetes', app: string): Promise<string[]> {
  const [w] = await nativeWorkloads(kind, app);
  if (!w) return [];
  if (kind === 'swarm') return (w.Spec.TaskTemplate.ContainerSpec.Mounts ?? []).filter((m: any) => m.Type === 'bind').map((m: any) => m.Source);
  return (w.spec.template.spec.volumes ?? []).filter((v: any) => v.hostPath).map((v: any) => v.hostPath.path);
}

describe.each(backends.filter((b) => b.enabled))('workload policy on $kind', ({ kind }) => {
  let gw: RunningGateway;
  let operator = '';
  const stamp = Date.now().toString(36);
  const app = `pol-${kind.slice(0, 4)}-${stamp}`;
  const other = `polx-${kind.slice(0, 4)}-${stamp}`;
  const plantedPath = `/srv/planted-${stamp}`;
  const plantedEnv = `planted-env-${stamp}`;
  const plantedSecret = `planted-secret-${stamp}`;
  const web = (extra: Record<string, unknown> = {}) => ({ image: 'berth-test/busybox:1', command: ['sleep', '3600'], ...extra });
  const spec = (extra: Record<string, unknown> = {}, name = app) => ({ name, services: { web: web(extra) } });
  const hostMount = (source: string) => ({ volumes: [{ type: 'hostPath', source, target: '/host' }] });
  /** Every body the operator got back: scanned for anything of the other app at the end. */
  const operatorSaw: string[] = [];
  const asOperator = async (method: string, path: string, body?: unknown) => {
    const res = await gw.call(method, path, body, bearer(operator));
    operatorSaw.push(JSON.stringify(res.body));
    return res;
  };

  beforeAll(async () => {
    if (kind === 'swarm') await mkdir('/srv/data/x', { recursive: true });
    gw = await startGatewayWithCluster(kind, `berth_policy_${kind.slice(0, 4)}`);
    // the same backend again under a second name: policies belong to the registered cluster
    const second =
      kind === 'swarm'
        ? { name: 'c2', kind, socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' }
        : { name: 'c2', kind, kubeconfig: await readFile(process.env.BERTH_KUBECONFIG!, 'utf8') };
    expect((await gw.call('POST', '/v1/clusters', second)).status).toBe(201);
    const token = await gw.call('POST', '/v1/tokens', {
      name: 'app-operator',
      grants: [
        { role: 'operator', cluster: 'c1', app },
        { role: 'operator', cluster: 'c2', app },
      ],
    });
    expect(token.status).toBe(201);
    operator = token.body.token;
    // another app with things worth stealing, and an allowance of its own
    const planted = await gw.call('POST', '/v1/clusters/c1/apps?wait=true', {
      name: other,
      secrets: { key: { value: plantedSecret } },
      services: { web: web({ env: { TOKEN: plantedEnv }, secrets: [{ source: 'key' }] }) },
    });
    expect(planted.status).toBe(200);
    expect((await gw.call('PUT', '/v1/clusters/c1/policy', { apps: { [other]: { hostPaths: [{ prefix: plantedPath }] } } })).status).toBe(200);
  }, TIMEOUT);

  afterAll(async () => {
    for (const a of [app, other]) await gw?.call('DELETE', `/v1/clusters/c1/apps/${a}?wait=true`).catch(() => undefined);
    await gw?.call('DELETE', `/v1/clusters/c2/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
  }, TIMEOUT);

  it(
    'refuses the node root, the engine socket, privileged, an added capability and the host network: 403 per field, audited, nothing written',
    async () => {
      const attempts = [
        { body: spec(hostMount('/')), path: 'services.web.volumes[0].source', rule: 'hostPath.root' },
        { body: spec(hostMount('/var/run/docker.sock')), path: 'services.web.volumes[0].source', rule: 'hostPath.protected' },
        { body: spec({ privileged: true }), path: 'services.web.privileged', rule: 'privileged' },
        { body: spec({ capAdd: ['SYS_ADMIN'] }), path: 'services.web.capAdd[0]', rule: 'capabilities' },
        { body: spec({ hostNetwork: true }), path: 'services.web.hostNetwork', rule: 'hostNetwork' },
      ];
      for (const a of attempts) {
        const res = await asOperator('POST', '/v1/clusters/c1/apps?wait=true', a.body);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('FORBIDDEN');
        expect(res.body.error.violations).toEqual([expect.objectContaining({ path: a.path, rule: a.rule })]);
        expect(res.body.error.details).toEqual([expect.objectContaining({ path: a.path })]);
      }
      // the same through Compose, a job and a volume
      const compose = await asOperator(
        'POST',
        '/v1/clusters/c1/apps',
        `name: ${app}\nservices:\n  web:\n    image: berth-test/busybox:1\n    network_mode: host\n    cap_add: [NET_ADMIN]\n`,
      );
      expect(compose.status).toBe(403);
      expect(compose.body.error.violations.map((v: { rule: string }) => v.rule)).toEqual(['capabilities', 'hostNetwork']);
      const job = await asOperator('POST', '/v1/clusters/c1/jobs', {
        name: 'peek',
        app,
        image: 'berth-test/job:ok',
        volumes: [{ type: 'hostPath', source: '/', target: '/host' }],
      });
      expect(job.status).toBe(403);
      expect(job.body.error.violations).toEqual([expect.objectContaining({ path: 'volumes[0].source', rule: 'hostPath.root' })]);
      const volume = await asOperator('POST', '/v1/clusters/c1/volumes', {
        app,
        name: 'etc',
        kind: 'named',
        driverOptions: { type: 'none', o: 'bind', device: '/etc' },
      });
      expect(volume.status).toBe(403);
      // the plan says what would be refused, and changes nothing
      const plan = await asOperator('POST', '/v1/clusters/c1/apps/plan', spec(hostMount('/')));
      expect(plan.status).toBe(200);
      expect(plan.body.policy).toMatchObject({
        allowed: false,
        bypass: false,
        violations: [{ path: 'services.web.volumes[0].source', rule: 'hostPath.root' }],
      });

      // nothing in Berth: no app, no revision, no operation, no job run
      expect((await gw.call('GET', `/v1/clusters/c1/apps/${app}`)).status).toBe(404);
      expect((await gw.call('GET', `/v1/operations?cluster=c1&app=${app}`)).body.items).toEqual([]);
      expect((await gw.call('GET', `/v1/clusters/c1/jobs?app=${app}`)).body.items).toEqual([]);
      // nothing on the orchestrator
      expect(await nativeWorkloads(kind, app)).toEqual([]);
      if (kind === 'kubernetes') expect((await kubeGet(`/api/v1/namespaces/${app}`)).status).toBe(404);
      if (kind === 'swarm') {
        const filters = encodeURIComponent(JSON.stringify({ label: [`berth.io/app=${app}`] }));
        expect(JSON.parse((await dockerApi('GET', `/volumes?filters=${filters}`)).body).Volumes ?? []).toEqual([]);
      }
      // each refusal is in the audit log with its fields and rules
      const audit = await gw.call('GET', '/v1/audit?limit=200&actor=token:app-operator&result=denied');
      const denials = audit.body.items.filter((e: { details: { violations?: unknown } }) => e.details.violations);
      expect(denials.length).toBe(attempts.length + 3);
      expect(denials.flatMap((e: { details: { violations: { rule: string }[] } }) => e.details.violations.map((v) => v.rule))).toEqual(
        expect.arrayContaining(['hostPath.root', 'hostPath.protected', 'privileged', 'capabilities', 'hostNetwork']),
      );
    },
    TIMEOUT,
  );

  it(
    'an allowed prefix holds on its cluster only; a tightened policy stops a rollback to a revision that used it',
    async () => {
      const allow = await gw.call('PUT', '/v1/clusters/c1/policy', {
        hostPaths: [{ prefix: '/srv/data' }],
        apps: { [other]: { hostPaths: [{ prefix: plantedPath }] } },
      });
      expect(allow.status).toBe(200);
      expect(allow.body).toMatchObject({ cluster: 'c1', isDefault: false, updatedBy: expect.stringMatching(/^token:/) });
      const rev1 = await asOperator('POST', '/v1/clusters/c1/apps?wait=true', spec(hostMount('/srv/data/x')));
      expect(rev1.status).toBe(200);
      expect(rev1.body).toMatchObject({ revision: 1, operation: { status: 'succeeded' } });
      expect(await nativeHostPaths(kind, app)).toEqual(['/srv/data/x']);
      if (kind === 'kubernetes') {
        // a host path is beyond Pod Security "baseline": the namespace says so
        expect((await kubeGet(`/api/v1/namespaces/${app}`)).body.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
      }
      const etc = await asOperator('POST', '/v1/clusters/c1/apps', spec(hostMount('/opt')));
      expect(etc.status).toBe(403);
      expect(etc.body.error.violations).toEqual([expect.objectContaining({ rule: 'hostPath.notAllowed' })]);
      expect((await asOperator('POST', '/v1/clusters/c1/apps', spec(hostMount('/etc')))).status).toBe(403);
      const elsewhere = await asOperator('POST', '/v1/clusters/c2/apps', spec(hostMount('/srv/data/x')));
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.body.error.violations).toEqual([expect.objectContaining({ rule: 'hostPath.notAllowed' })]);

      const rev2 = await asOperator('POST', '/v1/clusters/c1/apps?wait=true', spec());
      expect(rev2.body).toMatchObject({ revision: 2, operation: { status: 'succeeded' } });
      expect(await nativeHostPaths(kind, app)).toEqual([]);
      if (kind === 'kubernetes') {
        expect((await kubeGet(`/api/v1/namespaces/${app}`)).body.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
      }
      // the admin takes the allowance back
      expect((await gw.call('PUT', '/v1/clusters/c1/policy', { apps: { [other]: { hostPaths: [{ prefix: plantedPath }] } } })).status).toBe(200);
      const before = await nativeWorkloads(kind, app);
      for (const path of [`/v1/clusters/c1/apps/${app}/rollback?wait=true`, `/v1/clusters/c1/apps/${app}/services/web/rollback?wait=true`]) {
        const res = await asOperator('POST', path, { revision: 1 });
        expect(res.status).toBe(403);
        expect(res.body.error.message).toMatch(/revision 1/);
        expect(res.body.error.violations).toEqual([expect.objectContaining({ path: 'services.web.volumes[0].source', rule: 'hostPath.notAllowed' })]);
      }
      // nothing changed: same revision, no new operation, the same native objects
      const state = await gw.call('GET', `/v1/clusters/c1/apps/${app}`);
      expect(state.body.currentRevision).toBe(2);
      expect((await gw.call('GET', `/v1/clusters/c1/apps/${app}/revisions`)).body.items).toHaveLength(2);
      const ops = (await gw.call('GET', `/v1/operations?cluster=c1&app=${app}`)).body.items as { kind: string }[];
      expect(ops.map((o) => o.kind).sort()).toEqual(['apply', 'apply']);
      const after = await nativeWorkloads(kind, app);
      const version = (w: any) => (kind === 'swarm' ? w.Version.Index : w.metadata.resourceVersion);
      expect(after.map(version)).toEqual(before.map(version));
      // the change of policy is audited, with the policy before and after
      const changes = await gw.call('GET', '/v1/audit?limit=50&action=workload policy changed');
      expect(changes.body.items.length).toBeGreaterThanOrEqual(3);
      expect(changes.body.items[0].details.before.hostPaths).toEqual([{ prefix: '/srv/data', readOnly: false }]);
    },
    TIMEOUT,
  );

  it(
    'an admin may go past the policy, audited, and the driver carries what was allowed',
    async () => {
      const res = await gw.call('POST', '/v1/clusters/c1/apps?wait=true', spec({ capAdd: ['NET_ADMIN'], hostNetwork: true }, `${app}-adm`));
      try {
        expect(res.status).toBe(200);
        const [w] = await nativeWorkloads(kind, `${app}-adm`);
        if (kind === 'swarm') {
          expect(w.Spec.TaskTemplate.ContainerSpec.CapabilityAdd).toEqual(['CAP_NET_ADMIN']);
          expect(w.Spec.TaskTemplate.Networks.length).toBe(1);
        } else {
          expect(w.spec.template.spec.hostNetwork).toBe(true);
          expect(w.spec.template.spec.containers[0].securityContext.capabilities.add).toEqual(['NET_ADMIN']);
        }
        const audit = await gw.call('GET', '/v1/audit?limit=50&action=workload policy bypassed');
        expect(audit.body.items[0]).toMatchObject({ target: `c1/${app}-adm`, details: { violations: [{ rule: 'capabilities' }, { rule: 'hostNetwork' }] } });
      } finally {
        await gw.call('DELETE', `/v1/clusters/c1/apps/${app}-adm?wait=true`);
      }
    },
    TIMEOUT,
  );

  it('operators cannot read or set the policy, and no refusal showed them anything of another app', async () => {
    expect((await asOperator('GET', '/v1/clusters/c1/policy')).status).toBe(403);
    expect((await asOperator('PUT', '/v1/clusters/c1/policy', { privileged: true })).status).toBe(403);
    const gql = await gw.graphql('{ workloadPolicy(cluster: "c1") { isDefault } }', {}, bearer(operator));
    expect(gql.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // admins use GraphQL as REST
    const set = await gw.graphql('mutation($p: WorkloadPolicyInput!) { setWorkloadPolicy(cluster: "c2", policy: $p) { cluster isDefault policy } }', {
      p: { lowHostPorts: true },
    });
    expect(set.errors).toBeUndefined();
    expect(set.data.setWorkloadPolicy).toMatchObject({ cluster: 'c2', isDefault: false, policy: { lowHostPorts: true, hostPaths: [] } });
    const refused = await gw.graphql(
      'mutation($s: AppSpecInput) { applyApp(cluster: "c2", spec: $s) { changed } }',
      { s: toGraphqlInput(AppSpec, spec({ privileged: true })) },
      bearer(operator),
    );
    operatorSaw.push(JSON.stringify(refused));
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', violations: [{ path: 'services.web.privileged', rule: 'privileged' }] });
    expect(operatorSaw.length).toBeGreaterThan(15);
    const seen = operatorSaw.join('\n');
    for (const planted of [other, plantedPath, plantedEnv, plantedSecret]) expect(seen).not.toContain(planted);
  });
});
