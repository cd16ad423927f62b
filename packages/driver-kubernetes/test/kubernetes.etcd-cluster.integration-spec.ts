import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppSpec, importCompose, type AppSpecInput } from '@berth/model';
import { createKubernetesDriver, type KubernetesDriver } from '@berth/driver-kubernetes';
import { KubernetesNativeProbe } from './kubernetes-native.probe.js';

// examples/etcd-cluster on the real node: three etcd members (berth-test/etcd:1, built by
// packages/testenv/k8s/etcd-image.sh) forming one cluster through their member names db-0..db-2.
// Clients speak etcd's v3 HTTP API with busybox nc, from another service of the app.

if (process.env.BERTH_SKIP_KUBERNETES === '1') {
  process.stderr.write('\n*** BERTH_SKIP_KUBERNETES=1: the Kubernetes etcd cluster tests are SKIPPED ***\n\n');
  describe.skip('etcd cluster on kubernetes', () => {
    it('needs a Kubernetes API server (packages/testenv/k8s/up.sh)', () => undefined);
  });
} else {
  const path = process.env.BERTH_KUBECONFIG;
  if (!path) throw new Error('BERTH_KUBECONFIG is not set: run packages/testenv/k8s/up.sh, or set BERTH_SKIP_KUBERNETES=1');
  const kubeconfig = readFileSync(path, 'utf8');
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
    /** A read answered by the member itself (serializable), not forwarded to the leader. */
    const localRead = async (member: string, key: string) => {
      const kvs = (JSON.parse(await call(member, '/v3/kv/range', { key: b64(key), serializable: true })) as { kvs?: { value: string }[] }).kvs ?? [];
      return kvs[0] ? Buffer.from(kvs[0].value, 'base64').toString() : undefined;
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
          30_000,
        );
    }, 120_000);

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
  });
}
