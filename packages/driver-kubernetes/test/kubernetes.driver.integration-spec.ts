import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kubernetesSuite } from '@berth/testkit';
import { AppSpec, JobSpec, type ServiceSpec } from '@berth/model';
import { DriverErrorCode, LABEL, type ClusterEvent, type RolloutStatus, type ServiceRef } from '@berth/driver';
import { createKubernetesDriver, type KubernetesDriver } from '@berth/driver-kubernetes';
import { KubernetesNativeProbe } from './kubernetes-native.probe.js';

// Behaviour specific to the Kubernetes driver, beyond the shared conformance suite.
const HEALTHY = 'berth-test/http:1';
const NEVER_READY = 'berth-test/unhealthy:1'; // kwok stage: Running, never Ready (packages/testenv/k8s/stages)

async function last<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  let end: T | undefined;
  for await (const item of items) end = item;
  return end;
}

const kubeconfig = kubernetesSuite('kubernetes driver');
if (kubeconfig !== undefined) {
  const native = await KubernetesNativeProbe.connect(kubeconfig);
  const connect = () => createKubernetesDriver({ kind: 'kubernetes', kubeconfig });

  describe('kubernetes driver', () => {
    const app = `k8s-drv-${Date.now().toString(36)}`;
    const web: ServiceRef = { app, service: 'web' };
    const api: ServiceRef = { app, service: 'api' };
    const spec = AppSpec.parse({
      name: app,
      services: {
        web: { image: HEALTHY, replicas: 2, ports: [{ target: 80 }], update: { parallelism: 1, failureAction: 'rollback', monitor: '2s' } },
        api: { image: HEALTHY, replicas: 1, update: { parallelism: 1, failureAction: 'pause', monitor: '1s' } },
      },
    });
    const withImage = (name: 'web' | 'api', image: string): ServiceSpec => ({ ...spec.services[name]!, image });
    let driver: KubernetesDriver;

    beforeAll(async () => {
      driver = connect();
      await driver.apply(spec);
      for (const ref of [web, api]) expect(await last(driver.followRollout(ref, { pollIntervalMs: 250 }))).toMatchObject({ state: 'completed' });
    }, 60_000);

    afterAll(async () => {
      await driver?.remove(app, { volumes: true }).catch(() => undefined);
      await driver?.close();
    });

    it('plans a changed image as one field change of the Deployment, and writes nothing', async () => {
      const changed = AppSpec.parse({ ...spec, services: { ...spec.services, web: withImage('web', 'berth-test/http:2') } });
      const plan = await driver.plan(changed);
      const deployment = plan.objects.find((o) => o.kind === 'Deployment' && o.name === 'web');
      expect(deployment?.action).toBe('update');
      expect(deployment?.changes).toContainEqual({ path: 'spec.template.spec.containers[0].image', from: HEALTHY, to: 'berth-test/http:2' });
      expect(plan.objects.find((o) => o.kind === 'Deployment' && o.name === 'api')?.action).toBe('unchanged');
      expect(await native.desiredImage(web)).toBe(HEALTHY);
    });

    it('a Deployment that never becomes ready, with failureAction rollback, ends rolled back; the reason is kept on the cluster for a restarted gateway', async () => {
      const started = Date.now();
      expect((await driver.updateService(web, withImage('web', NEVER_READY))).changed).toBe(true);
      // The first follower goes away mid-rollout (a gateway restart) ...
      const gone = new AbortController();
      setTimeout(() => gone.abort(), 1_500);
      await last(driver.followRollout(web, { signal: gone.signal, pollIntervalMs: 250 }));
      // ... and a new driver instance, knowing nothing, follows to the end from what the cluster holds.
      const restarted = connect();
      const seen: RolloutStatus[] = [];
      for await (const s of restarted.followRollout(web, { pollIntervalMs: 250, signal: AbortSignal.timeout(60_000) })) seen.push(s);
      const end = seen.at(-1)!;
      expect(seen.map((s) => s.state)).toEqual(expect.arrayContaining(['progressing', 'rolling-back', 'rolled-back']));
      expect(end.state).toBe('rolled-back');
      // Kubernetes' own verdict (ProgressDeadlineExceeded on the new ReplicaSet) is the recorded reason.
      expect(end.message).toMatch(/no progress for 10s \(ReplicaSet "web-[a-z0-9]+" has timed out progressing\.\)/);
      expect(Date.now() - started).toBeLessThan(45_000);
      const d = await native.apps.readNamespacedDeployment({ name: 'web', namespace: app });
      expect(JSON.parse(d.metadata?.annotations?.['berth.io/rollout'] ?? '{}')).toMatchObject({ reason: 'auto-rollback', message: end.message });
      expect(JSON.parse(d.metadata?.annotations?.[LABEL.previousSpec] ?? '{}').image).toBe(NEVER_READY);
      expect(JSON.parse(d.metadata?.annotations?.[LABEL.spec] ?? '{}').image).toBe(HEALTHY);
      expect(await native.replicaImages(web)).toEqual([HEALTHY, HEALTHY]);
      // Any reader, later, sees the same outcome.
      expect(await connect().rolloutStatus(web)).toMatchObject({ state: 'rolled-back', message: end.message });
      await restarted.close();
    }, 90_000);

    it('failureAction pause pauses the Deployment and says why', async () => {
      await driver.updateService(api, withImage('api', NEVER_READY));
      const end = await last(driver.followRollout(api, { pollIntervalMs: 250, signal: AbortSignal.timeout(60_000) }));
      expect(end?.state).toBe('paused');
      expect(end?.message).toMatch(/paused: no progress/);
      const d = await native.apps.readNamespacedDeployment({ name: 'api', namespace: app });
      expect(d.spec?.paused).toBe(true);
      // Applying a (good) spec again resumes the rollout.
      await driver.updateService(api, withImage('api', 'berth-test/http:2'));
      expect((await last(driver.followRollout(api, { pollIntervalMs: 250, signal: AbortSignal.timeout(60_000) })))?.state).toBe('completed');
      expect((await native.apps.readNamespacedDeployment({ name: 'api', namespace: app })).spec?.paused ?? false).toBe(false);
    }, 90_000);

    it('a failing job records its exit code; job logs come from the (simulated) kubelet', async () => {
      const bad = await driver.runJob(JobSpec.parse({ name: 'bad', app, image: 'berth-test/job:fail' }));
      const ok = await driver.runJob(JobSpec.parse({ name: 'ok', app, image: 'berth-test/job:ok' }));
      const wait = async (ref: typeof bad) => {
        for (let i = 0; i < 100; i++) {
          const s = await driver.jobStatus(ref);
          if (s.state === 'succeeded' || s.state === 'failed') return s;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`job ${ref.name} did not end`);
      };
      const badEnd = await wait(bad);
      expect(badEnd.state).toBe('failed');
      expect(badEnd.runs.map((r) => r.exitCode)).toContain(3);
      expect(badEnd.message).toMatch(/BackoffLimitExceeded/);
      expect((await wait(ok)).runs.every((r) => r.exitCode === 0)).toBe(true);
      const lines = [];
      for await (const l of driver.logs(ok, { tail: 10 })) lines.push(l);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.every((l) => l.replica.startsWith(`${ok.name}-`) && l.time)).toBe(true);
      await driver.removeJob(bad);
      await driver.removeJob(ok);
    }, 60_000);

    it('resumes the event stream from a cursor: only what happened after it comes again', async () => {
      const first: ClusterEvent[] = [];
      const stop = new AbortController();
      const reading = (async () => {
        for await (const e of driver.events({ app, signal: stop.signal })) {
          first.push(e);
          stop.abort();
        }
      })();
      await driver.scale(web, 3);
      await reading;
      const cursor = first[0]!.cursor;
      await driver.scale(web, 1);
      const resumed: ClusterEvent[] = [];
      const stop2 = new AbortController();
      setTimeout(() => stop2.abort(), 3_000);
      for await (const e of driver.events({ app, since: cursor, signal: stop2.signal })) resumed.push(e);
      expect(resumed.length).toBeGreaterThan(0);
      expect(resumed.map((e) => e.id)).not.toContain(first[0]!.id);
      expect(resumed.some((e) => e.service === 'web' && /Scaled down/.test(e.message ?? ''))).toBe(true);
    }, 30_000);

    it('refuses reserved namespaces as app names with Invalid', async () => {
      await expect(driver.apply(AppSpec.parse({ name: 'default', services: { x: { image: 'x' } } }))).rejects.toMatchObject({ code: DriverErrorCode.Invalid });
    });
  });

  describe('kubernetes driver: members of a stateful service on the real node', () => {
    const app = `k8s-mem-${Date.now().toString(36)}`;
    const db: ServiceRef = { app, service: 'db' };
    const client: ServiceRef = { app, service: 'client' };
    // The real node (node-up.sh) runs containers and cluster DNS; kwok nodes only simulate pods.
    const placement = { placement: { constraints: ['node.labels.berth-runtime == containers'] } };
    const spec = AppSpec.parse({
      name: app,
      services: {
        db: { image: 'berth-test/busybox:1', replicas: 3, stateful: true, volumes: [{ type: 'named', source: 'data', target: '/data' }], ...placement },
        client: { image: 'berth-test/busybox:1', ...placement },
      },
    });
    let driver: KubernetesDriver;
    /** Waits until every member name resolves from the client to exactly its own pod's address. */
    const membersResolve = async (count: number) => {
      const deadline = Date.now() + 60_000;
      let seen = '';
      while (Date.now() < deadline) {
        const pods = await native.podAddresses(db);
        const answers = await Promise.all(Array.from({ length: count }, (_, i) => native.lookup(client, `db-${i}`)));
        seen = JSON.stringify({ pods, answers });
        if (answers.every((a, i) => pods[`db-${i}`] !== undefined && a.join() === pods[`db-${i}`])) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
      throw new Error(`member names did not resolve to their pods: ${seen}`);
    };

    beforeAll(async () => {
      driver = connect();
      await driver.apply(spec);
      for (const ref of [db, client]) expect(await last(driver.followRollout(ref, { pollIntervalMs: 500 }))).toMatchObject({ state: 'completed' });
    }, 150_000);

    afterAll(async () => {
      await driver?.remove(app, { volumes: true }).catch(() => undefined);
      await driver?.close();
    });

    it('each member resolves by its plain name (db-0, db-1, db-2) from another service of the app, and discovery lists those names', async () => {
      await membersResolve(3);
      const aliases = (await driver.getService(db)).discovery.aliases;
      expect(aliases).toEqual(expect.arrayContaining(['db-0', 'db-1', 'db-2', `db-2.db.${app}.svc.cluster.local`]));
    }, 90_000);

    it('scaling down removes the last member and its name; scaling up brings it back with the same claim', async () => {
      const claimsBefore = (await native.core.listNamespacedPersistentVolumeClaim({ namespace: app })).items.map((c) => c.metadata?.name).sort();
      await driver.scale(db, 2);
      await expect(native.core.readNamespacedService({ name: 'db-2', namespace: app })).rejects.toMatchObject({ code: 404 });
      expect((await driver.getService(db)).discovery.aliases).not.toContain('db-2');
      await driver.scale(db, 3);
      expect(await last(driver.followRollout(db, { pollIntervalMs: 500 }))).toMatchObject({ state: 'completed' });
      await membersResolve(3);
      const claimsAfter = (await native.core.listNamespacedPersistentVolumeClaim({ namespace: app })).items.map((c) => c.metadata?.name).sort();
      expect(claimsAfter).toEqual(claimsBefore);
      expect(claimsAfter).toEqual(['data-db-0', 'data-db-1', 'data-db-2']);
    }, 150_000);
  });

  describe('kubernetes driver without a reachable API server', () => {
    // The same credentials, pointed at a port where nothing listens.
    const dead = createKubernetesDriver({
      kind: 'kubernetes',
      kubeconfig: kubeconfig.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:6449'),
    });

    it('reports unreachable health and throws Unreachable', async () => {
      expect((await dead.health()).status).toBe('unreachable');
      await expect(dead.listServices()).rejects.toMatchObject({ code: DriverErrorCode.Unreachable });
    });

    it('refuses an unknown kubeconfig context with Invalid', () => {
      expect(() => createKubernetesDriver({ kind: 'kubernetes', kubeconfig, context: 'nope' })).toThrow(
        expect.objectContaining({ code: DriverErrorCode.Invalid }),
      );
    });
  });
}
