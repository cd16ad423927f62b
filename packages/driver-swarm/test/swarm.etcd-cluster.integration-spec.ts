import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppSpec, type AppSpecInput } from '@berth/model';
import type { RolloutStatus } from '@berth/driver';
import { createSwarmDriver, type SwarmDriver } from '@berth/driver-swarm';
import { SwarmNativeProbe } from './swarm-native.probe.js';

// examples/etcd-cluster on the real swarm: three etcd members (berth-test/etcd:1, built by
// packages/testenv/k8s/etcd-image.sh with `docker import`, so the engine has it) forming one
// cluster through their member names db-0..db-2. Clients speak etcd's v3 HTTP API with busybox nc,
// from another service of the app. The same checks as the Kubernetes test, on one Swarm service per member.

interface Task {
  ID: string;
  CreatedAt?: string;
  DesiredState: string;
  Spec: { ContainerSpec: { Image: string } };
  Status: { State: string; Timestamp?: string; ContainerStatus?: { ContainerID?: string } };
}

if (process.env.BERTH_SKIP_SWARM === '1') {
  process.stderr.write('\n*** BERTH_SKIP_SWARM=1: the Swarm etcd cluster tests are SKIPPED ***\n\n');
  describe.skip('etcd cluster on swarm', () => {
    it('needs a Docker engine in a swarm (packages/testenv/swarm/up.sh)', () => undefined);
  });
} else {
  const socketPath = process.env.BERTH_DOCKER_SOCKET;
  if (!socketPath) throw new Error('BERTH_DOCKER_SOCKET is not set: run packages/testenv/swarm/up.sh, or set BERTH_SKIP_SWARM=1');
  const native = new SwarmNativeProbe(socketPath);
  const example = JSON.parse(readFileSync(new URL('../../../examples/etcd-cluster/app.json', import.meta.url), 'utf8')) as AppSpecInput;
  const members = ['db-0', 'db-1', 'db-2'];

  describe('etcd cluster on swarm (examples/etcd-cluster)', () => {
    const app = `etcd-${Date.now().toString(36)}`;
    const spec = AppSpec.parse({ ...example, name: app });
    const db = { app, service: 'db' };
    let driver: SwarmDriver;

    const runningTasks = async (service: string): Promise<Task[]> =>
      ((await native.docker.listTasks({ filters: { service: [`${app}_${service}`] } })) as Task[]).filter(
        (t) => t.Status.State === 'running' && t.DesiredState === 'running',
      );
    const containerOf = async (service: string): Promise<string> => {
      const id = (await runningTasks(service))[0]?.Status.ContainerStatus?.ContainerID;
      if (!id) throw new Error(`no running task of ${app}_${service}`);
      return id;
    };

    /** POSTs a v3 API call to `host` (a member, or the service name) from the client service; answers the response body. */
    const call = async (host: string, endpoint: string, body: object): Promise<string> => {
      const json = JSON.stringify(body);
      const request = `POST ${endpoint} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`;
      // stdin stays open a moment: busybox nc half-closes at its end, and etcd cancels a write whose client went away
      const out = await native.exec(await containerOf('client'), ['sh', '-c', '{ printf %s "$1"; sleep 2; } | nc -w 5 "$2" 2379', 'sh', request, host]);
      return out.slice(out.indexOf('\r\n\r\n') + 4);
    };
    const memberList = async (member: string) =>
      ((JSON.parse(await call(member, '/v3/cluster/member/list', {})) as { members?: { name?: string }[] }).members ?? []).map((m) => m.name ?? '').sort();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const unb64 = (s: string) => Buffer.from(s, 'base64').toString();
    /** Reads answered by the member itself (serializable), not forwarded to the leader. */
    const localRange = async (member: string, key: string, rangeEnd?: string) =>
      (
        (
          JSON.parse(await call(member, '/v3/kv/range', { key: b64(key), ...(rangeEnd ? { range_end: b64(rangeEnd) } : {}), serializable: true })) as {
            kvs?: { key: string; value: string }[];
          }
        ).kvs ?? []
      ).map((kv) => ({ key: unb64(kv.key), value: unb64(kv.value) }));
    const localRead = async (member: string, key: string) => (await localRange(member, key))[0]?.value;
    const put = async (host: string, key: string, value: string) => /"revision"/.test(await call(host, '/v3/kv/put', { key: b64(key), value: b64(value) }));
    const eventually = async <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000): Promise<T> => {
      const deadline = Date.now() + ms;
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          const v = await probe();
          if (ok(v)) return v;
          last = v;
        } catch (e) {
          last = (e as Error).message;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      throw new Error(`${what}: last seen ${JSON.stringify(last)}`);
    };
    const formed = async () => {
      for (const m of members)
        await eventually(
          `member list of ${m}`,
          () => memberList(m),
          (l) => l.join() === members.join(),
        );
    };
    const follow = async (): Promise<RolloutStatus> => {
      let last: RolloutStatus | undefined;
      for await (const s of driver.followRollout(db, { signal: AbortSignal.timeout(300_000), pollIntervalMs: 500 })) last = s;
      return last!;
    };

    beforeAll(() => {
      driver = createSwarmDriver({ kind: 'swarm', socketPath });
    });
    afterAll(async () => {
      await driver?.remove(app, { volumes: true }).catch(() => undefined);
      await driver?.close();
    });

    it('the cluster forms: every member reports the same member list of three', async () => {
      const started = Date.now();
      await driver.apply(spec);
      await formed();
      process.stderr.write(`\netcd cluster on swarm formed in ${Date.now() - started} ms (apply to every member listing three)\n`);
    }, 180_000);

    it('Berth presents the members as one stateful service db with replicas db-0..db-2', async () => {
      const status = await driver.getService(db);
      expect(status).toMatchObject({ service: 'db', stateful: true, replicas: { desired: 3, running: 3 } });
      expect(status.discovery.dnsName).toBe('db');
      expect(status.discovery.aliases).toEqual(expect.arrayContaining(members));
      expect(status.discovery.endpoints.map((e) => [e.replica, e.hostname])).toEqual([
        ['0', 'db-0'],
        ['1', 'db-1'],
        ['2', 'db-2'],
      ]);
      expect((await driver.listServices(app)).map((s) => s.service)).toEqual(['client', 'db']);
      expect((await driver.listApps()).find((a) => a.name === app)?.services).toEqual(['client', 'db']);
    });

    it('a value written through the service name is read back from each member', async () => {
      // Right after forming, a member may still answer "leader changed": a write counts once its answer has a revision.
      await eventually(
        'a put through db',
        () => put('db', 'greeting', 'hello from db'),
        (ok) => ok,
        30_000,
      );
      for (const m of members)
        await eventually(
          `greeting on ${m}`,
          () => localRead(m, 'greeting'),
          (v) => v === 'hello from db',
          30_000,
        );
    }, 120_000);

    it('a rolling update of the image replaces one member at a time while a client writes, and every acknowledged value is there afterwards', async () => {
      const acked: string[] = [];
      let failed = 0;
      const reasons = new Set<string>();
      let writing = true;
      const writer = (async () => {
        for (let n = 0; writing; n++) {
          const key = `w/${String(n).padStart(4, '0')}`;
          const answer = await call('db', '/v3/kv/put', { key: b64(key), value: b64(`v${n}`) }).catch((e: Error) => e.message);
          if (/"revision"/.test(answer)) acked.push(key);
          else {
            failed++;
            reasons.add(answer.trim().slice(-100));
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 4000));
      const before = new Map(await Promise.all(members.map(async (m) => [m, (await runningTasks(m))[0]!.ID] as const)));
      const started = Date.now();
      const next = AppSpec.parse({ ...example, name: app, services: { ...example.services, db: { ...example.services.db, image: 'berth-test/etcd:2' } } });
      const result = await driver.apply(next);
      expect(result.rollingServices).toContain('db');
      const end = await follow();
      const duration = Date.now() - started;
      await new Promise((r) => setTimeout(r, 4000));
      writing = false;
      await writer;
      expect(end.state).toBe('completed');
      process.stderr.write(
        `\netcd rolling update on swarm took ${duration} ms; ${failed} of ${failed + acked.length} writes failed during it${reasons.size ? ` (${[...reasons].join(' | ')})` : ''}\n`,
      );

      // one member at a time, in ordinal order: each new task started after the previous member's new task ran
      const replaced: { member: string; created: string; running: string }[] = [];
      for (const m of members) {
        const task = (await runningTasks(m))[0]!;
        expect(task.ID).not.toBe(before.get(m));
        expect(task.Spec.ContainerSpec.Image).toBe('berth-test/etcd:2');
        replaced.push({ member: m, created: task.CreatedAt!, running: task.Status.Timestamp! });
      }
      for (let i = 1; i < replaced.length; i++) expect(replaced[i]!.created >= replaced[i - 1]!.running).toBe(true);

      await formed();
      expect(acked.length).toBeGreaterThan(0);
      for (const m of members)
        await eventually(
          `acknowledged writes on ${m}`,
          async () => new Set((await localRange(m, 'w/', 'w0')).map((kv) => kv.key)),
          (keys) => acked.every((k) => keys.has(k)),
          30_000,
        );
    }, 420_000);

    it('a member whose container is killed comes back under the same name with the same volume and its data', async () => {
      const volumeOf = async (container: string) =>
        (await native.docker.getContainer(container).inspect()).Mounts.filter((m) => m.Type === 'volume').map((m) => m.Name);
      const before = await containerOf('db-1');
      expect(await volumeOf(before)).toEqual([`${app}_data-1`]);
      await native.docker.getContainer(before).kill();
      const after = await eventually(
        'db-1 replaced',
        () => containerOf('db-1'),
        (id) => id !== before,
      );
      expect(await volumeOf(after)).toEqual([`${app}_data-1`]);
      expect((await native.docker.getContainer(after).inspect()).Config.Hostname).toBe('db-1');
      // serializable: db-1 answers from its own store, which it kept on its volume
      await eventually(
        'greeting on the new db-1',
        () => localRead('db-1', 'greeting'),
        (v) => v === 'hello from db',
        60_000,
      );
      await eventually(
        'member list of db-1',
        () => memberList('db-1'),
        (l) => l.join() === members.join(),
      );
    }, 180_000);

    it('removing the app keeps the members’ volumes unless asked; deploying it again finds the data', async () => {
      await driver.remove(app);
      const volumes = (await native.docker.listVolumes({ filters: { label: [`berth.io/app=${app}`] } })).Volumes.map((v) => v.Name).sort();
      expect(volumes).toEqual(members.map((m) => `${app}_data-${m.slice(3)}`));
      await driver.apply(spec);
      await formed();
      for (const m of members)
        await eventually(
          `greeting on ${m} after the redeploy`,
          () => localRead(m, 'greeting'),
          (v) => v === 'hello from db',
          60_000,
        );
    }, 300_000);
  });
}
