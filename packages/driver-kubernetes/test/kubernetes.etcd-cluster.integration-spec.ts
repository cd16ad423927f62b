import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kubernetesSuite } from '@berth/testkit';
import { AppSpec, importCompose, type AppSpecInput } from '@berth/model';
import type { RolloutStatus } from '@berth/driver';
import { createKubernetesDriver, type KubernetesDriver } from '@berth/driver-kubernetes';
import { KubernetesNativeProbe } from './kubernetes-native.probe.js';

// examples/etcd-cluster on the real node: three etcd members (berth-test/etcd:1, built by
// packages/testenv/k8s/etcd-image.sh) forming one cluster through their member names db-0..db-2.
// Clients speak etcd's v3 HTTP API with busybox nc, from another service of the app.

const kubeconfig = kubernetesSuite('etcd cluster on kubernetes');
if (kubeconfig !== undefined) {
  const native = await KubernetesNativeProbe.connect(kubeconfig);
  const example = JSON.parse(readFileSync(new URL('../../../examples/etcd-cluster/app.json', import.meta.url), 'utf8')) as AppSpecInput;
  const members = ['db-0', 'db-1', 'db-2'];

  describe('etcd cluster on kubernetes (examples/etcd-cluster)', () => {
    const app = `etcd-${Date.now().toString(36)}`;
    const placement = { placement: { constraints: ['node.labels.berth-runtime == containers'] } };
    const spec = AppSpec.parse({
      ...example,
      name: app,
      services: Object.fromEntries(Object.entries(example.services).map(([name, svc]) => [name, { ...svc, ...placement }])),
    });
    let driver: KubernetesDriver;

    /** POSTs a v3 API call to one member from the client service; answers the response body. */
    const call = async (member: string, endpoint: string, body: object): Promise<string> => {
      const pods = await native.core.listNamespacedPod({ namespace: app, labelSelector: `berth.io/service=client` });
      const pod = pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)?.metadata?.name;
      if (!pod) throw new Error('no running client pod');
      const json = JSON.stringify(body);
      const request = `POST ${endpoint} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`;
      // stdin stays open a moment: busybox nc half-closes at its end, and etcd cancels a write whose client went away
      const out = await native.exec(app, pod, ['sh', '-c', '{ printf %s "$1"; sleep 2; } | nc -w 5 "$2" 2379', 'sh', request, member]);
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
    const formed = async () => {
      for (const m of members)
        await eventually(
          `member list of ${m}`,
          () => memberList(m),
          (l) => l.join() === members.join(),
        );
    };
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

    beforeAll(() => {
      driver = createKubernetesDriver({ kind: 'kubernetes', kubeconfig });
    });
    afterAll(async () => {
      await driver?.remove(app, { volumes: true }).catch(() => undefined);
      await driver?.close();
    });

    it('the example as a Compose file imports to the same app, without loss', () => {
      const compose = importCompose(readFileSync(new URL('../../../examples/etcd-cluster/compose.yaml', import.meta.url), 'utf8'), { name: 'etcd-cluster' });
      expect(compose.warnings).toEqual([]);
      expect(compose.spec).toEqual(AppSpec.parse(example));
    });

    it('the cluster forms: every member reports the same member list of three', async () => {
      const started = Date.now();
      await driver.apply(spec);
      for (const m of members)
        await eventually(
          `member list of ${m}`,
          () => memberList(m),
          (l) => l.join() === members.join(),
        );
      process.stderr.write(`\netcd cluster on kubernetes formed in ${Date.now() - started} ms (apply to every member listing three)\n`);
    }, 180_000);

    it('a value written through one member is read back from each member', async () => {
      // Right after forming, a member may still answer "leader changed": a write counts once its answer has a revision.
      await eventually(
        'a put through db-0',
        () => call('db-0', '/v3/kv/put', { key: b64('greeting'), value: b64('hello from db-0') }),
        (answer) => /"revision"/.test(answer),
        30_000,
      );
      for (const m of members)
        await eventually(
          `greeting on ${m}`,
          () => localRead(m, 'greeting'),
          (v) => v === 'hello from db-0',
          // a member that has just joined may take a while to answer on a busy node
          60_000,
        );
    }, 240_000);

    it('a rolling update of the image replaces one member at a time while a client writes, and every acknowledged value is there afterwards', async () => {
      const db = { app, service: 'db' };
      const acked: string[] = [];
      let failed = 0;
      const reasons = new Set<string>();
      let writing = true;
      const writer = (async () => {
        for (let n = 0; writing; n++) {
          const key = `w/${String(n).padStart(4, '0')}`;
          // through the service name: whichever member answers
          const answer = await call('db', '/v3/kv/put', { key: b64(key), value: b64(`v${n}`) }).catch((e: Error) => e.message);
          if (/"revision"/.test(answer)) acked.push(key);
          else {
            failed++;
            reasons.add(answer.trim().slice(-100));
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 4000));
      const uid = async (m: string) => (await native.core.readNamespacedPod({ name: m, namespace: app })).metadata?.uid;
      const before = new Map(await Promise.all(members.map(async (m) => [m, await uid(m)] as const)));
      const started = Date.now();
      const next = AppSpec.parse({
        ...example,
        name: app,
        services: Object.fromEntries(
          Object.entries(example.services).map(([name, svc]) => [name, { ...svc, ...placement, ...(name === 'db' ? { image: 'berth-test/etcd:2' } : {}) }]),
        ),
      });
      const result = await driver.apply(next);
      expect(result.rollingServices).toContain('db');
      let end: RolloutStatus | undefined;
      for await (const s of driver.followRollout(db, { signal: AbortSignal.timeout(300_000), pollIntervalMs: 500 })) end = s;
      const duration = Date.now() - started;
      await new Promise((r) => setTimeout(r, 4000));
      writing = false;
      await writer;
      expect(end?.state).toBe('completed');
      process.stderr.write(
        `\netcd rolling update on kubernetes took ${duration} ms; ${failed} of ${failed + acked.length} writes failed during it${reasons.size ? ` (${[...reasons].join(' | ')})` : ''}\n`,
      );

      // one member at a time: each new pod was created only once the one replaced before it was ready
      const pods = [];
      for (const m of members) {
        const pod = await native.core.readNamespacedPod({ name: m, namespace: app });
        expect(pod.metadata?.uid).not.toBe(before.get(m));
        expect(pod.spec?.containers[0]?.image).toBe('berth-test/etcd:2');
        const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
        pods.push({ created: new Date(pod.metadata!.creationTimestamp!).getTime(), ready: new Date(ready!).getTime() });
      }
      pods.sort((a, b) => a.created - b.created);
      for (let i = 1; i < pods.length; i++) expect(pods[i]!.created).toBeGreaterThanOrEqual(pods[i - 1]!.ready);

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

    it('a member whose pod is killed comes back under the same name with the same claim and its data', async () => {
      const claim = async () =>
        (await native.core.readNamespacedPod({ name: 'db-1', namespace: app })).spec?.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim
          ?.claimName;
      const before = await native.core.readNamespacedPod({ name: 'db-1', namespace: app });
      expect(await claim()).toBe('data-db-1');
      await native.core.deleteNamespacedPod({ name: 'db-1', namespace: app, gracePeriodSeconds: 0 });
      await eventually(
        'db-1 replaced',
        () => native.core.readNamespacedPod({ name: 'db-1', namespace: app }),
        (p) => p.metadata?.uid !== before.metadata?.uid && p.status?.phase === 'Running',
      );
      expect(await claim()).toBe('data-db-1');
      // serializable: db-1 answers from its own store, which it kept on its volume
      await eventually(
        'greeting on the new db-1',
        () => localRead('db-1', 'greeting'),
        (v) => v === 'hello from db-0',
        60_000,
      );
      await eventually(
        'member list of db-1',
        () => memberList('db-1'),
        (l) => l.join() === members.join(),
      );
    }, 180_000);

    it('removing the app keeps the members’ claims unless asked; deploying it again finds the data', async () => {
      await driver.remove(app);
      await eventually(
        'the members gone',
        async () => (await native.core.listNamespacedPod({ namespace: app, labelSelector: 'berth.io/service=db' })).items.length,
        (n) => n === 0,
      );
      const claims = (await native.core.listNamespacedPersistentVolumeClaim({ namespace: app })).items.map((c) => c.metadata?.name).sort();
      expect(claims).toEqual(['data-db-0', 'data-db-1', 'data-db-2']);
      const started = Date.now();
      await driver.apply(spec);
      await formed();
      process.stderr.write(`\netcd cluster on kubernetes formed again in ${Date.now() - started} ms after a redeploy\n`);
      for (const m of members)
        await eventually(
          `greeting on ${m} after the redeploy`,
          () => localRead(m, 'greeting'),
          (v) => v === 'hello from db-0',
          60_000,
        );
    }, 420_000);
  });
}
