import { afterEach, describe, expect, it } from '@jest/globals';
import { AppSpec, JobSpec, type ServiceSpecInput } from '@berth/model';
import { DriverError, DriverErrorCode, type OrchestratorDriver, type RolloutStatus } from '@berth/driver';
import { InMemoryCluster, InMemoryNativeProbe, createInMemoryDriver } from '@berth/testkit';

// The clock is stopped in these tests: time moves only by advance(), so each assertion names the
// simulated moment it holds at (replicas take 1 s to start).
const web = { app: 'shop', service: 'web' };
const spec = (svc: ServiceSpecInput) => AppSpec.parse({ name: 'shop', services: { web: svc } });

let cluster: InMemoryCluster;
afterEach(() => {
  expect(cluster.errors).toEqual([]);
  cluster.dispose();
});

async function deployed(svc: ServiceSpecInput): Promise<{ driver: OrchestratorDriver; probe: InMemoryNativeProbe }> {
  cluster = new InMemoryCluster({ paused: true, replicaStartMs: 1000, jobRunMs: 1000 });
  const driver = createInMemoryDriver(cluster);
  await driver.apply(spec(svc));
  cluster.settle();
  expect((await driver.rolloutStatus(web)).state).toBe('completed');
  return { driver, probe: new InMemoryNativeProbe(cluster) };
}

const count = (images: string[], image: string) => images.filter((i) => i === image).length;

describe('in-memory cluster: rollouts', () => {
  it('replaces replicas in batches of `parallelism`, waiting `delay` between them', async () => {
    const { driver, probe } = await deployed({ image: 'app:1', replicas: 4, update: { parallelism: 2, delay: '10s', monitor: 0 } });
    await driver.updateService(web, {
      ...spec({ image: 'app:1' }).services.web!,
      image: 'app:2',
      replicas: 4,
      update: { ...cluster.service('shop', 'web')!.spec.update!, parallelism: 2 },
    });
    cluster.advance(0);
    // stop-first: two old replicas stopped, their successors starting
    expect(await probe.replicaImages(web)).toEqual(['app:1', 'app:1']);
    cluster.advance(1000);
    expect(count(await probe.replicaImages(web), 'app:2')).toBe(2);
    expect(await driver.rolloutStatus(web)).toMatchObject({ state: 'progressing', batches: { done: 1, total: 2 } });
    cluster.advance(9999);
    expect(count(await probe.replicaImages(web), 'app:2')).toBe(2);
    expect(count(await probe.replicaImages(web), 'app:1')).toBe(2);
    // the delay is over: the second batch's old replicas stop, their successors start
    cluster.advance(1);
    expect(await probe.replicaImages(web)).toEqual(['app:2', 'app:2']);
    cluster.advance(1000);
    expect(await probe.replicaImages(web)).toEqual(['app:2', 'app:2', 'app:2', 'app:2']);
    cluster.settle();
    expect(await driver.rolloutStatus(web)).toMatchObject({ state: 'completed', batches: { done: 2, total: 2 }, failed: 0 });
  });

  it('start-first keeps the old replica until its successor is ready', async () => {
    const { driver } = await deployed({ image: 'app:1', replicas: 2, update: { order: 'start-first', monitor: 0 } });
    const next = { ...cluster.service('shop', 'web')!.spec, image: 'app:2' };
    await driver.updateService(web, next);
    cluster.advance(0);
    expect(cluster.liveReplicas(cluster.service('shop', 'web')!)).toHaveLength(3);
    expect((await driver.getService(web)).replicas).toMatchObject({ desired: 2, ready: 2 });
    cluster.advance(1000);
    // slot 1 replaced; slot 2's old replica still serves while its successor starts
    const endpoints = (await driver.getService(web)).discovery.endpoints;
    expect(endpoints.map((e) => `${e.replica} ${e.image} ${e.ready ? 'ready' : 'starting'}`)).toEqual(['1 app:2 ready', '2 app:1 ready', '2 app:2 starting']);
  });

  it('rolls back to the running spec when more than maxFailureRatio of the replicas fail', async () => {
    const { driver, probe } = await deployed({ image: 'app:1', replicas: 4, update: { monitor: 0 } });
    const bad = {
      ...cluster.service('shop', 'web')!.spec,
      image: 'app:unhealthy',
      update: { parallelism: 1, delay: 0, order: 'stop-first' as const, failureAction: 'rollback' as const, monitor: 0, maxFailureRatio: 0.5 },
    };
    await driver.updateService(web, bad);
    cluster.advance(0);
    cluster.advance(1000);
    expect(await driver.rolloutStatus(web)).toMatchObject({ state: 'progressing', failed: 1 });
    cluster.advance(1000);
    // 2 of 4 failed: not more than half yet
    expect(await driver.rolloutStatus(web)).toMatchObject({ state: 'progressing', failed: 2 });
    cluster.advance(1000);
    const rolling = await driver.rolloutStatus(web);
    expect(rolling.state).toBe('rolling-back');
    expect(await probe.desiredImage(web)).toBe('app:1');
    cluster.settle();
    const end = await driver.rolloutStatus(web);
    expect(end.state).toBe('rolled-back');
    expect(end.message).toContain('app:unhealthy');
    expect(await probe.replicaImages(web)).toEqual(['app:1', 'app:1', 'app:1', 'app:1']);
  });

  it('pauses on a failure with failureAction pause, leaving the rest on the old version', async () => {
    const { driver, probe } = await deployed({ image: 'app:1', replicas: 3, update: { monitor: 0 } });
    await driver.updateService(web, {
      ...cluster.service('shop', 'web')!.spec,
      image: 'app:unhealthy',
      update: { ...cluster.service('shop', 'web')!.spec.update!, failureAction: 'pause' },
    });
    const seen: RolloutStatus[] = [];
    const following = (async () => {
      for await (const s of driver.followRollout(web)) seen.push(s);
    })();
    cluster.settle();
    await following;
    expect(seen.at(-1)).toMatchObject({ state: 'paused', failed: 1 });
    expect(seen.at(-1)!.message).toContain('paused');
    expect(await probe.replicaImages(web)).toEqual(['app:1', 'app:1']);
    expect(cluster.pending).toBe(0);
  });

  it('a second driver over the same cluster (a restarted gateway) follows the rollout the first one started', async () => {
    const { driver } = await deployed({ image: 'app:1', replicas: 3, update: { parallelism: 1, delay: '5s', monitor: 0 } });
    await driver.updateService(web, { ...cluster.service('shop', 'web')!.spec, image: 'app:2' });
    cluster.advance(1000);
    expect((await driver.rolloutStatus(web)).batches).toEqual({ done: 1, total: 3 });
    await driver.close();

    const restarted = createInMemoryDriver(cluster);
    const seen: RolloutStatus[] = [];
    const following = (async () => {
      for await (const s of restarted.followRollout(web)) seen.push(s);
    })();
    cluster.resume();
    await following;
    expect(seen[0]).toMatchObject({ state: 'progressing', batches: { done: 1, total: 3 } });
    expect(seen.at(-1)).toMatchObject({ state: 'completed', batches: { done: 3, total: 3 } });
    expect(seen.map((s) => s.batches!.done)).toEqual(expect.arrayContaining([1, 2, 3]));
  });
});

describe('in-memory cluster: jobs', () => {
  it('runs `parallelism` runs at a time until `completions` succeed, with exit code 0', async () => {
    cluster = new InMemoryCluster({ paused: true, jobRunMs: 1000 });
    const driver = createInMemoryDriver(cluster, { kind: 'kubernetes' });
    const ref = await driver.runJob(JobSpec.parse({ name: 'migrate', image: 'tool:ok', completions: 3, parallelism: 2 }));
    expect(ref.app).toBe('berth-jobs');
    expect((await driver.jobStatus(ref)).completions).toEqual({ desired: 3, succeeded: 0, failed: 0, active: 2 });
    cluster.advance(1000);
    expect((await driver.jobStatus(ref)).completions).toEqual({ desired: 3, succeeded: 2, failed: 0, active: 1 });
    cluster.advance(1000);
    const end = await driver.jobStatus(ref);
    expect(end.state).toBe('succeeded');
    expect(end.runs.map((r) => r.exitCode)).toEqual([0, 0, 0]);
  });

  it('retries a failing run up to backoffLimit, then fails with exit code 3', async () => {
    cluster = new InMemoryCluster({ paused: true, jobRunMs: 1000 });
    const driver = createInMemoryDriver(cluster);
    const ref = await driver.runJob(JobSpec.parse({ name: 'seed', app: 'shop', image: 'tool:fail', backoffLimit: 2 }));
    cluster.settle();
    const end = await driver.jobStatus(ref);
    expect(end.state).toBe('failed');
    expect(end.runs.map((r) => r.exitCode)).toEqual([3, 3, 3]);
    expect(end.message).toContain('backoff limit 2');
    const lines: string[] = [];
    for await (const l of driver.logs(ref)) lines.push(l.line);
    expect(lines).toContain('exited with code 3');
  });
});

describe('in-memory cluster: test hooks', () => {
  it('fails the next call of a method with the given error, before it changes anything', async () => {
    cluster = new InMemoryCluster({ paused: true });
    const driver = createInMemoryDriver(cluster);
    cluster.failNext('apply', new DriverError(DriverErrorCode.Timeout, 'the cluster took too long'));
    await expect(driver.apply(spec({ image: 'app:1' }))).rejects.toMatchObject({ code: DriverErrorCode.Timeout });
    expect(await driver.listServices('shop')).toEqual([]);
    expect((await driver.apply(spec({ image: 'app:1' }))).rollingServices).toEqual(['web']);
    expect(cluster.calls.map((c) => c.method)).toEqual(['apply', 'listServices', 'apply']);
  });

  it('an unreachable cluster fails every call and reports itself unreachable, until it is back', async () => {
    cluster = new InMemoryCluster({ paused: true });
    const driver = createInMemoryDriver(cluster);
    await driver.apply(spec({ image: 'app:1' }));
    cluster.setReachable(false);
    expect((await driver.health()).status).toBe('unreachable');
    await expect(driver.getService(web)).rejects.toMatchObject({ code: DriverErrorCode.Unreachable });
    const follow = driver.followRollout(web)[Symbol.asyncIterator]();
    await expect(follow.next()).rejects.toMatchObject({ code: DriverErrorCode.Unreachable });
    cluster.setReachable(true);
    expect((await driver.health()).status).toBe('healthy');
    expect((await driver.getService(web)).image).toBe('app:1');
  });

  it('refuses a never-written secret version with Invalid and unknown services with NotFound', async () => {
    cluster = new InMemoryCluster({ paused: true });
    const driver = createInMemoryDriver(cluster);
    const withSecret = AppSpec.parse({
      name: 'shop',
      secrets: { key: { version: 'abcdefabcdef' } },
      services: { web: { image: 'app:1', secrets: [{ source: 'key', version: 'abcdefabcdef' }] } },
    });
    await expect(driver.apply(withSecret)).rejects.toMatchObject({ code: DriverErrorCode.Invalid });
    expect(cluster.servicesOf('shop')).toEqual([]);
    await expect(driver.updateService({ app: 'shop', service: 'nope' }, withSecret.services.web!)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
  });
});
