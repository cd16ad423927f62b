import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppSpec, JobSpec, type AppSpecInput, type ServiceSpec } from '@berth/model';
import { DriverErrorCode, isDriverError, type ClusterEvent, type JobRef, type OrchestratorDriver, type RolloutStatus, type ServiceRef } from '@berth/driver';

export interface ConformanceImages {
  /** HTTP server answering "v1" on port 80. */
  http1: string;
  /** The same server answering "v2". */
  http2: string;
  /** Starts, then fails (exits non-zero or never becomes healthy/ready). */
  failing: string;
  /** Prints a line and exits 0 after a short time. */
  jobOk: string;
  /** Prints a line and exits 3. */
  jobFail: string;
  /** A shell that stays up (for a stateful service writing into its volume). */
  shell: string;
}

export interface NativeMount {
  type: string;
  source?: string;
  target: string;
}

/**
 * Reads the orchestrator directly, bypassing the driver, so that the suite asserts the backend's
 * own state and not the driver's memory.
 */
export interface NativeProbe {
  /** Image of each current replica (running task, or pod counted by the orchestrator as ready). */
  replicaImages(ref: ServiceRef): Promise<string[]>;
  /** The image the orchestrator's service/workload object asks for. */
  desiredImage(ref: ServiceRef): Promise<string>;
  /** Mounts of the service's workload definition. */
  mounts(ref: ServiceRef): Promise<NativeMount[]>;
  /**
   * Proves that `to` is discoverable from `from` under `dnsName`: by resolving and calling it
   * inside the network where containers run, or from the API objects (Service and endpoints) where
   * they do not.
   */
  checkDiscovery(app: string, from: string, to: string, dnsName: string): Promise<void>;
  /** Writes `content` into `path` of replica 1 of a stateful service, where containers run. */
  writeFile?(ref: ServiceRef, path: string, content: string): Promise<void>;
  readFile?(ref: ServiceRef, path: string): Promise<string>;
  /**
   * What a replica of the service reads at /run/secrets/<file>: inside a container where containers
   * run, from the Secret the pod mounts where they do not.
   */
  secretFile(ref: ServiceRef, file: string): Promise<string>;
  /** Proves each replica of a stateful service has its own bound volume (API-level check). */
  checkPerReplicaStorage(ref: ServiceRef, volume: string): Promise<void>;
  /** Native objects of the app still present (services, networks, containers, workloads, claims). */
  leftovers(app: string, includeVolumes: boolean): Promise<string[]>;
  /** A shared-volume definition this backend can really create. */
  sharedVolume: { driver?: string; driverOptions?: Record<string, string>; storageClass?: string };
  /** A host directory that exists on every node (for hostPath mounts). */
  hostPath: string;
}

export interface ConformanceFixture {
  name: string;
  createDriver(): Promise<OrchestratorDriver>;
  images: ConformanceImages;
  native: NativeProbe;
  /** Containers really run (Swarm here); false on a simulated kubelet, where stats and logs are API-level only. */
  runsContainers: boolean;
  /**
   * What a simulated backend reports although no container runs (each defaults to
   * `runsContainers`): job exit codes, job logs, resource stats.
   */
  simulates?: { exitCodes?: boolean; logs?: boolean; stats?: boolean };
  /** Upper bound for one rollout or job to end. */
  timeoutMs?: number;
  /**
   * Placement constraints every service and job of the suite gets, through the spec like a user's
   * (e.g. onto the nodes where containers run, on a cluster that also has simulated ones).
   */
  constraints?: string[];
}

async function lastOf<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  let last: T | undefined;
  for await (const item of items) last = item;
  return last;
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await sleep(300);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last)}`);
}

/**
 * The scenarios every driver must pass, against a real backend. Call it at the top level of a
 * test file; the scenarios run in order and share one app.
 */
export function runConformanceSuite(fixture: ConformanceFixture): void {
  const timeout = fixture.timeoutMs ?? 120_000;
  const app = `conf-${fixture.name.slice(0, 4)}-${Date.now().toString(36)}`;
  const web: ServiceRef = { app, service: 'web' };
  const db: ServiceRef = { app, service: 'db' };
  const { images, native } = fixture;
  const reports = {
    exitCodes: fixture.simulates?.exitCodes ?? fixture.runsContainers,
    logs: fixture.simulates?.logs ?? fixture.runsContainers,
    stats: fixture.simulates?.stats ?? fixture.runsContainers,
  };
  const placement = fixture.constraints?.length ? { placement: { constraints: fixture.constraints } } : {};
  let driver: OrchestratorDriver;

  const appInput: AppSpecInput = {
    name: app,
    services: {
      web: {
        image: images.http1,
        replicas: 1,
        ports: [{ target: 80 }],
        env: { GREETING: 'hello' },
        volumes: [
          { type: 'implicit', target: '/scratch' },
          { type: 'hostPath', source: native.hostPath, target: '/host', readOnly: true },
        ],
        update: { parallelism: 1, order: 'stop-first', monitor: '2s' },
        ...placement,
      },
      db: {
        image: images.shell,
        replicas: 2,
        stateful: true,
        hostname: 'db',
        volumes: [{ type: 'named', source: 'data', target: '/data' }],
        update: { parallelism: 1, monitor: '1s' },
        ...placement,
      },
    },
  };
  const spec = AppSpec.parse(appInput);
  const webSpec = (changes: Partial<ServiceSpec>): ServiceSpec => ({ ...spec.services.web!, ...changes });

  const follow = async (ref: ServiceRef): Promise<RolloutStatus> => {
    const end = await lastOf(driver.followRollout(ref, { signal: AbortSignal.timeout(timeout), pollIntervalMs: 250 }));
    if (!end) throw new Error(`followRollout(${ref.service}) yielded nothing`);
    return end;
  };

  describe(`driver conformance: ${fixture.name}`, () => {
    beforeAll(async () => {
      driver = await fixture.createDriver();
    });

    afterAll(async () => {
      await driver?.remove(app, { volumes: true }).catch(() => undefined);
      await driver?.close();
    });

    it('reports the cluster version and at least one ready node, and is healthy', async () => {
      const info = await driver.info();
      expect(info.version).toMatch(/\d+\.\d+/);
      expect(info.nodes.some((n) => n.status === 'ready')).toBe(true);
      expect((await driver.health()).status).toBe('healthy');
    });

    it('plans a new app without writing anything', async () => {
      const plan = await driver.plan(spec);
      expect(plan.changed).toBe(true);
      const created = plan.objects.filter((o) => o.action === 'create').map((o) => o.service);
      expect(created).toEqual(expect.arrayContaining(['web', 'db']));
      expect(await driver.listServices(app)).toEqual([]);
    });

    it(
      'deploys a two-service app (web + stateful db with a named volume) and converges',
      async () => {
        const result = await driver.apply(spec);
        expect(result.changed).toBe(true);
        for (const ref of [web, db]) expect((await follow(ref)).state).toBe('completed');
        expect(await native.replicaImages(web)).toEqual([images.http1]);
        expect(await native.replicaImages(db)).toHaveLength(2);
        const services = await driver.listServices(app);
        expect(services.map((s) => s.service).sort()).toEqual(['db', 'web']);
      },
      timeout * 2,
    );

    it('re-applying the same spec changes nothing and says so', async () => {
      expect((await driver.plan(spec)).changed).toBe(false);
      const again = await driver.apply(spec);
      expect(again.changed).toBe(false);
      expect(again.rollingServices).toEqual([]);
    });

    it('reads back the applied spec and the mounts of the four volume kinds', async () => {
      const status = await driver.getService(web);
      expect(status.spec?.image).toBe(images.http1);
      expect(status.spec?.env).toEqual({ GREETING: 'hello' });
      const mounts = await native.mounts(web);
      expect(mounts.map((m) => m.target).sort()).toEqual(['/host', '/scratch']);
      expect(mounts.find((m) => m.target === '/host')?.source).toBe(native.hostPath);
      expect((await native.mounts(db)).map((m) => m.target)).toEqual(['/data']);
    });

    it(
      'discovery: DNS name, ports and endpoints, and web resolves from db',
      async () => {
        const status = await driver.getService(web);
        expect(status.discovery.dnsName).toContain('web');
        expect(status.discovery.ports).toEqual(expect.arrayContaining([expect.objectContaining({ target: 80 })]));
        expect(status.discovery.endpoints).toHaveLength(1);
        expect(status.discovery.endpoints[0]!.ready).toBe(true);
        await native.checkDiscovery(app, 'db', 'web', status.discovery.dnsName);
      },
      timeout,
    );

    it(
      'scales web 1 -> 3 -> 1',
      async () => {
        await driver.scale(web, 3);
        await waitFor(
          '3 replicas of web',
          () => native.replicaImages(web),
          (r) => r.length === 3,
          timeout,
        );
        expect((await driver.getService(web)).replicas.desired).toBe(3);
        await driver.scale(web, 1);
        await waitFor(
          '1 replica of web',
          () => native.replicaImages(web),
          (r) => r.length === 1,
          timeout,
        );
      },
      timeout * 2,
    );

    it(
      'rolls web from v1 to v2 with parallelism 2 and a delay, in observable batches',
      async () => {
        await driver.scale(web, 3);
        await waitFor(
          '3 replicas of web',
          () => native.replicaImages(web),
          (r) => r.length === 3,
          timeout,
        );
        const next = webSpec({ image: images.http2, replicas: 3, update: { ...spec.services.web!.update!, parallelism: 2, delay: 3000 } });
        const seen = new Set<string>();
        const sampling = (async () => {
          const deadline = Date.now() + timeout;
          while (Date.now() < deadline) {
            const imgs = await native.replicaImages(web);
            const fresh = imgs.filter((i) => i === images.http2).length;
            seen.add(`${fresh}/${imgs.length}`);
            if (fresh === 3 && imgs.length === 3) return;
            await sleep(200);
          }
        })();
        expect((await driver.updateService(web, next)).changed).toBe(true);
        const end = await follow(web);
        await sampling;
        expect(end.state).toBe('completed');
        // a first batch of exactly two new replicas, held for the delay, before the last one
        expect([...seen]).toContain('2/3');
        expect([...seen]).not.toContain('1/3');
        expect(await native.desiredImage(web)).toBe(images.http2);
      },
      timeout * 2,
    );

    it(
      'a failing rollout with failureAction rollback ends rolled back to the running version',
      async () => {
        const bad = webSpec({
          image: images.failing,
          replicas: 3,
          update: { parallelism: 1, delay: 0, order: 'stop-first', failureAction: 'rollback', monitor: 4000, maxFailureRatio: 0 },
        });
        await driver.updateService(web, bad);
        const end = await follow(web);
        expect(end.state).toBe('rolled-back');
        expect(end.message).toBeTruthy();
        await waitFor(
          'web back on v2',
          () => native.replicaImages(web),
          (r) => r.length === 3 && r.every((i) => i === images.http2),
          timeout,
        );
        expect(await native.desiredImage(web)).toBe(images.http2);
      },
      timeout * 3,
    );

    it(
      'rolls back to an earlier spec (revision 1: v1)',
      async () => {
        await driver.rollbackService(web, webSpec({ replicas: 3 }));
        expect((await follow(web)).state).toBe('completed');
        await waitFor(
          'web on v1',
          () => native.replicaImages(web),
          (r) => r.length === 3 && r.every((i) => i === images.http1),
          timeout,
        );
        expect(await native.desiredImage(web)).toBe(images.http1);
      },
      timeout * 2,
    );

    it(
      'gives every replica of the stateful service its own volume, and the data survives an update',
      async () => {
        await native.checkPerReplicaStorage(db, 'data');
        if (native.writeFile && native.readFile) {
          await native.writeFile(db, '/data/marker', 'kept');
        }
        const updated = { ...spec.services.db!, env: { TOUCH: '1' } };
        expect((await driver.updateService(db, updated)).changed).toBe(true);
        expect((await follow(db)).state).toBe('completed');
        await native.checkPerReplicaStorage(db, 'data');
        if (native.writeFile && native.readFile) {
          expect((await native.readFile(db, '/data/marker')).trim()).toBe('kept');
        }
      },
      timeout * 2,
    );

    it('lists, creates and removes volumes with the same kinds on every orchestrator', async () => {
      const vols = await driver.listVolumes(app);
      expect(vols.filter((v) => v.kind === 'named').length).toBeGreaterThanOrEqual(1);
      const shared = await driver.createVolume(app, 'shared', { kind: 'shared', size: '1Gi', ...native.sharedVolume });
      expect(shared.kind).toBe('shared');
      expect((await driver.listVolumes(app)).map((v) => v.name)).toContain('shared');
      await driver.removeVolume(app, 'shared');
      expect((await driver.listVolumes(app)).map((v) => v.name)).not.toContain('shared');
    });

    it(
      'runs a job to completion and a failing job to failure',
      async () => {
        const ok = await driver.runJob(JobSpec.parse({ name: 'ok', app, image: images.jobOk, completions: 2, parallelism: 1, ...placement }));
        const bad = await driver.runJob(JobSpec.parse({ name: 'bad', app, image: images.jobFail, ...placement }));
        const done = (ref: JobRef) =>
          waitFor(
            `job ${ref.name} to end`,
            () => driver.jobStatus(ref),
            (s) => s.state === 'succeeded' || s.state === 'failed',
            timeout,
          );
        const okEnd = await done(ok);
        const badEnd = await done(bad);
        expect(okEnd.state).toBe('succeeded');
        expect(okEnd.completions.succeeded).toBe(2);
        expect(badEnd.state).toBe('failed');
        if (reports.exitCodes) {
          expect(okEnd.runs.filter((r) => r.state === 'succeeded').every((r) => r.exitCode === 0)).toBe(true);
          expect(badEnd.runs.some((r) => r.exitCode === 3)).toBe(true);
        }
        if (reports.logs) {
          const lines: string[] = [];
          for await (const l of driver.logs(ok, { tail: 20 })) lines.push(l.line);
          expect(lines.join('\n')).toMatch(/\S/);
        }
        await driver.removeJob(ok);
        await driver.removeJob(bad);
        await expect(driver.jobStatus(ok)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
      },
      timeout * 2,
    );

    it('streams the app events from a cursor', async () => {
      const controller = new AbortController();
      const events: ClusterEvent[] = [];
      const reading = (async () => {
        for await (const e of driver.events({ app, signal: controller.signal })) {
          events.push(e);
          if (events.some((x) => x.service === 'web')) controller.abort();
        }
      })().catch((e: unknown) => {
        if (!controller.signal.aborted) throw e;
      });
      await sleep(500);
      await driver.scale(web, 2);
      const deadline = Date.now() + 30_000;
      while (!controller.signal.aborted && Date.now() < deadline) await sleep(200);
      controller.abort();
      await reading;
      const mine = events.filter((e) => e.app === app);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((e) => e.id && e.cursor && e.time)).toBe(true);
      expect(mine.some((e) => e.service === 'web')).toBe(true);
    }, 60_000);

    it('samples resource stats, or says plainly that the cluster serves none', async () => {
      if (reports.stats) {
        // A metrics pipeline may need a sampling period or two before a new replica shows up.
        const samples = await waitFor(
          'stats of the app',
          () => driver.stats(app),
          (s) => s.length > 0,
          50_000,
        );
        expect(samples.every((s) => s.app === app && s.memoryBytes > 0)).toBe(true);
      } else {
        await expect(driver.stats(app)).rejects.toMatchObject({ code: DriverErrorCode.Unsupported });
      }
    }, 60_000);

    it(
      'follows the logs of every replica, including one started after the stream began',
      async () => {
        if (!reports.logs) return; // nothing writes a log where no container runs
        const logApp = `${app}-l`;
        const talk: ServiceRef = { app: logApp, service: 'talk' };
        const talkSpec = AppSpec.parse({
          name: logApp,
          services: {
            talk: {
              image: images.shell,
              command: ['sh', '-c', 'trap "exit 0" TERM INT; echo "hello from $(hostname)"; while true; do sleep 1; done'],
              update: { monitor: '1s' },
              ...placement,
            },
          },
        });
        const controller = new AbortController();
        try {
          await driver.apply(talkSpec);
          expect((await follow(talk)).state).toBe('completed');
          const lines: { replica: string; line: string }[] = [];
          const reading = (async () => {
            for await (const l of driver.logs(talk, { follow: true, signal: controller.signal })) lines.push(l);
          })().catch((e: unknown) => {
            if (!controller.signal.aborted) throw e;
          });
          // Any line counts (a simulated backend writes its own); where containers run, the greeting.
          const replicas = () => new Set(lines.filter((l) => !fixture.runsContainers || /hello from/.test(l.line)).map((l) => l.replica));
          await waitFor(
            'the first replica greeting',
            async () => replicas().size,
            (n) => n >= 1,
            timeout,
          );
          await driver.scale(talk, 2);
          await waitFor(
            'a greeting from the replica started after the stream began',
            async () => replicas().size,
            (n) => n >= 2,
            timeout,
          );
          controller.abort();
          await reading;
        } finally {
          controller.abort();
          await driver.remove(logApp);
        }
      },
      timeout * 3,
    );

    it('maps a missing service to NotFound', async () => {
      const missing = { app, service: 'nope' };
      await expect(driver.getService(missing)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
      await expect(driver.scale(missing, 2)).rejects.toMatchObject({ code: DriverErrorCode.NotFound });
      const err = await driver.getService(missing).catch((e: unknown) => e);
      expect(isDriverError(err)).toBe(true);
    });

    it(
      'mounts secrets as files under /run/secrets by version; a new version rolls the service; remove takes them away',
      async () => {
        const secretApp = `${app}-s`;
        const reader: ServiceRef = { app: secretApp, service: 'reader' };
        const v1 = { name: 'api-key', version: 'a1a1a1a1a1a1', value: `first value ${Date.now()}` };
        const v2 = { name: 'api-key', version: 'b2b2b2b2b2b2', value: `second value\nwith a newline ${Date.now()}` };
        const specAt = (version: string) =>
          AppSpec.parse({
            name: secretApp,
            secrets: { 'api-key': { version } },
            services: {
              reader: {
                image: images.shell,
                secrets: [{ source: 'api-key', target: 'key.txt', mode: 0o400, version }],
                update: { monitor: '1s' },
                ...placement,
              },
            },
          });
        try {
          // a version that was never written is refused before anything starts
          await expect(driver.apply(specAt(v1.version))).rejects.toMatchObject({ code: DriverErrorCode.Invalid });
          await driver.ensureSecrets(secretApp, [v1]);
          await driver.ensureSecrets(secretApp, [v1]);
          expect((await driver.apply(specAt(v1.version))).rollingServices).toEqual(['reader']);
          expect((await follow(reader)).state).toBe('completed');
          expect(await native.secretFile(reader, 'key.txt')).toBe(v1.value);
          expect((await driver.plan(specAt(v1.version))).changed).toBe(false);
          // the service's recorded spec names the version, never the value
          expect(JSON.stringify(await driver.getService(reader))).not.toContain(v1.value);

          await driver.ensureSecrets(secretApp, [v2]);
          expect((await driver.apply(specAt(v2.version))).rollingServices).toEqual(['reader']);
          expect((await follow(reader)).state).toBe('completed');
          expect(await native.secretFile(reader, 'key.txt')).toBe(v2.value);
        } finally {
          await driver.remove(secretApp);
        }
        await waitFor(
          'nothing left of the secrets app',
          () => native.leftovers(secretApp, false),
          (l) => l.length === 0,
          timeout,
        );
      },
      timeout * 3,
    );

    it(
      'removes the app and leaves nothing behind',
      async () => {
        await driver.remove(app, { volumes: true });
        await waitFor(
          'nothing left of the app',
          () => native.leftovers(app, true),
          (l) => l.length === 0,
          timeout,
        );
        expect(await driver.listServices(app)).toEqual([]);
        await expect(driver.remove(app)).resolves.toBeDefined();
      },
      timeout,
    );
  });
}
