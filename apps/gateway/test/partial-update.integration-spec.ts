import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningGateway, startGatewayWithCluster } from './harness.js';
import { dockerApi } from './docker-api.js';
import { kubeGet } from './kube-api.js';

/**
 * A PATCH of one field of a service's update policy changes that field and nothing else, on REST
 * and on GraphQL, as the orchestrator itself records it: Swarm's UpdateConfig; the Kubernetes
 * Deployment's strategy and the spec Berth keeps in its annotation (failureAction and
 * maxFailureRatio, which Berth enforces there).
 */
const backends = [
  { kind: 'swarm' as const, enabled: process.env.BERTH_SKIP_SWARM !== '1' },
  { kind: 'kubernetes' as const, enabled: process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG },
];

interface EnginePolicy {
  parallelism: number;
  delayMs: number;
  order: string;
  failureAction: string;
  monitorMs: number;
  maxFailureRatio: number;
}

async function swarmPolicy(app: string): Promise<EnginePolicy> {
  const res = await dockerApi('GET', `/services/${app}_web`);
  const u = JSON.parse(res.body).Spec.UpdateConfig;
  return {
    parallelism: u.Parallelism,
    delayMs: (u.Delay ?? 0) / 1e6,
    order: u.Order,
    failureAction: u.FailureAction,
    monitorMs: (u.Monitor ?? 0) / 1e6,
    maxFailureRatio: u.MaxFailureRatio ?? 0,
  };
}

async function kubernetesPolicy(app: string): Promise<EnginePolicy> {
  const { body: d } = await kubeGet(`/apis/apps/v1/namespaces/${app}/deployments/web`);
  const rolling = d.spec.strategy.rollingUpdate;
  const recorded = JSON.parse(d.metadata.annotations['berth.io/spec']).update;
  return {
    // start-first surges by the batch size, stop-first makes that many unavailable
    parallelism: rolling.maxSurge === 0 ? rolling.maxUnavailable : rolling.maxSurge,
    delayMs: (d.spec.minReadySeconds ?? 0) * 1000,
    order: rolling.maxSurge === 0 ? 'stop-first' : 'start-first',
    failureAction: recorded.failureAction,
    monitorMs: recorded.monitor,
    maxFailureRatio: recorded.maxFailureRatio,
  };
}

describe.each(backends.filter((b) => b.enabled))('a partial update policy on $kind', ({ kind }) => {
  let gw: RunningGateway;
  const app = `patch-${kind.slice(0, 4)}-${Date.now().toString(36)}`;
  const base = `/v1/clusters/c1/apps/${app}/services/web`;
  const enginePolicy = () => (kind === 'swarm' ? swarmPolicy(app) : kubernetesPolicy(app));
  const deployed: EnginePolicy = { parallelism: 1, delayMs: 10_000, order: 'start-first', failureAction: 'rollback', monitorMs: 3000, maxFailureRatio: 0.2 };

  beforeAll(async () => {
    gw = await startGatewayWithCluster(kind, 'berth_patch');
    const res = await gw.call('POST', '/v1/clusters/c1/apps?wait=true', {
      name: app,
      services: {
        web: {
          image: 'berth-test/http:1',
          update: { parallelism: 1, delay: '10s', order: 'start-first', failureAction: 'rollback', monitor: '3s', maxFailureRatio: 0.2 },
        },
      },
    });
    expect(res.body.operation).toMatchObject({ status: 'succeeded' });
  }, 120_000);

  afterAll(async () => {
    await gw?.call('DELETE', `/v1/clusters/c1/apps/${app}?wait=true`).catch(() => undefined);
    await gw?.close();
  });

  it('the orchestrator holds the policy as deployed', async () => {
    expect(await enginePolicy()).toEqual(deployed);
  });

  it('REST: a patch of parallelism changes parallelism only', async () => {
    const res = await gw.call('PATCH', `${base}?wait=true`, { update: { parallelism: 2 } });
    expect(res.body.operation).toMatchObject({ status: 'succeeded' });
    expect(await enginePolicy()).toEqual({ ...deployed, parallelism: 2 });
    const stored = await gw.call('GET', `/v1/clusters/c1/apps/${app}`);
    expect(stored.body.spec.services.web.update).toEqual({
      parallelism: 2,
      delay: 10_000,
      order: 'start-first',
      failureAction: 'rollback',
      monitor: 3000,
      maxFailureRatio: 0.2,
    });
  }, 120_000);

  it('GraphQL: a patch of the delay changes the delay only', async () => {
    const res = await gw.graphql(
      `mutation($patch: ServicePatchInput!) { updateService(cluster: "c1", app: "${app}", service: "web", patch: $patch, wait: true) { operation { status } } }`,
      { patch: { update: { delay: '4s' } } },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.updateService.operation.status).toBe('SUCCEEDED');
    expect(await enginePolicy()).toEqual({ ...deployed, parallelism: 2, delayMs: 4000 });
  }, 120_000);
});
