import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kubernetesSuite } from '@berth/testkit';
import { main } from '../src/cli.js';
import { ADMIN_TOKEN, type RunningGateway, startGatewayWithCluster } from '../../../apps/gateway/test/harness.js';

/**
 * The CLI's everyday commands on Kubernetes, as cli.integration-spec.ts runs them on Swarm: the same
 * commands and the same tables, on the test cluster's real node (the other nodes are kwok's, which
 * run no containers). Pods are the replicas here, so they are named as kubectl names them.
 */
const SUITE = 'berth CLI against a real gateway and Kubernetes';
const REAL_NODE = 'node.labels.berth-runtime == containers';

if (kubernetesSuite(SUITE) !== undefined) {
  describe(SUITE, () => {
    let gw: RunningGateway;
    let dir: string;
    const app = `clik-${Date.now().toString(36)}`;

    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: { BERTH_URL: gw.url, BERTH_TOKEN: ADMIN_TOKEN } });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };

    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'berth-cli-k8s-'));
      gw = await startGatewayWithCluster('kubernetes', 'berth_cli_k8s');
      await writeFile(
        path.join(dir, 'compose.yaml'),
        [
          `name: ${app}`,
          'services:',
          '  web:',
          '    image: berth-test/http:1',
          '    ports: ["80"]',
          '    deploy:',
          '      replicas: 2',
          `      placement: { constraints: ["${REAL_NODE}"] }`,
          '      update_config: { parallelism: 1, failure_action: rollback, monitor: 3s }',
          '  talker:',
          '    image: berth-test/busybox:1',
          '    command: [sh, -c, "echo hello from the talker; sleep 3600"]',
          '    deploy:',
          `      placement: { constraints: ["${REAL_NODE}"] }`,
          '',
        ].join('\n'),
      );
    }, 60_000);

    afterAll(async () => {
      await gw?.call('DELETE', `/v1/clusters/c1/apps/${app}?wait=true`).catch(() => undefined);
      await gw?.close();
      await rm(dir, { recursive: true, force: true });
    }, 120_000);

    it('lists the cluster with its kind, version and nodes, the real node among them', async () => {
      const ls = await run('clusters');
      expect(ls.code).toBe(0);
      expect(ls.out).toMatch(/^NAME +KIND +HEALTH +VERSION +NODES +AGE$/m);
      expect(ls.out).toMatch(/^c1 +kubernetes +healthy +v?1\.\d+\.\d+\S* +\d+ +\d+s$/m);
      const one = await run('cluster', 'get', 'c1');
      expect(one.out).toMatch(/^Health: +healthy/m);
      expect(one.out).toMatch(/^ +berth-node +\S+ +ready +/m);
    });

    it('applies a Compose file and waits for the pods, then says when nothing changes', async () => {
      const first = await run('apply', 'c1', path.join(dir, 'compose.yaml'), '--wait');
      expect(first).toMatchObject({ code: 0, out: expect.stringMatching(/succeeded$/m) });
      const again = await run('apply', 'c1', path.join(dir, 'compose.yaml'), '--wait');
      expect(again).toMatchObject({ code: 0, out: expect.stringMatching(/nothing to change/) });
    }, 240_000);

    it('shows a service with its DNS name, cluster IP and one line per running pod', async () => {
      const ls = await run('services', 'ls', 'c1', app);
      expect(ls.out.split('\n')[0]).toMatch(/^NAME +MODE +READY +IMAGE +PORTS$/);
      expect(ls.out).toMatch(/^web +replicated +2\/2 +berth-test\/http:1 +/m);
      const get = await run('services', 'get', 'c1', app, 'web');
      expect(get.code).toBe(0);
      expect(get.out).toMatch(/^DNS name: +web\.\S+$/m);
      expect(get.out).toMatch(/^Virtual IPs: +\d+\.\d+\.\d+\.\d+/m);
      // A pod's name (web-<hash>-<id>, as kubectl get pods prints it), its state, readiness and IP.
      expect(get.out.match(/^ {2}web-[a-z0-9-]+ +running +yes +\d+\.\d+\.\d+\.\d+ /gm)).toHaveLength(2);
    });

    it("prints a service's logs prefixed with its pod", async () => {
      const r = await run('logs', 'c1', app, 'talker', '--tail', '10');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^talker-[a-z0-9-]+ \| hello from the talker$/m);
    });

    it('scales, then exits 1 when a rollout rolls back, with the reason, and the history says so', async () => {
      expect((await run('services', 'scale', 'c1', app, 'web', '3', '--wait')).code).toBe(0);
      const json = JSON.parse((await run('services', 'ls', 'c1', app, '-o', 'json')).out) as {
        service: string;
        replicas: { desired: number; ready: number };
      }[];
      expect(json.find((s) => s.service === 'web')?.replicas).toMatchObject({ desired: 3, ready: 3 });
      const bad = await run('services', 'set-image', 'c1', app, 'web', 'berth-test/unhealthy:1', '--wait');
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/rolled_back - web: /);
      const ops = JSON.parse((await run('--json', 'ops', '--app', app)).out) as { kind: string; status: string }[];
      expect(ops.map((o) => `${o.kind}:${o.status}`)).toEqual(['update:rolled_back', 'scale:succeeded', 'apply:succeeded']);
    }, 300_000);

    it('runs a job on the real node and reports its exit code and log tail', async () => {
      await writeFile(
        path.join(dir, 'job.yml'),
        [
          'name: migrate',
          `app: ${app}`,
          'image: berth-test/busybox:1',
          'command: [sh, -c, "echo migrating; echo giving up; exit 3"]',
          `placement: { constraints: ["${REAL_NODE}"] }`,
          '',
        ].join('\n'),
      );
      const r = await run('jobs', 'run', 'c1', path.join(dir, 'job.yml'), '--wait');
      expect(r.code).toBe(1);
      const id = /job (\S+) /.exec(r.out)?.[1] as string;
      expect((await run('jobs', 'ls', 'c1', '--app', app)).out).toMatch(new RegExp(`^${id} +${app} +migrate +failed +3 `, 'm'));
      const get = await run('jobs', 'get', 'c1', id);
      expect(get.code).toBe(1);
      expect(get.out).toMatch(/^Exit codes: 3$/m);
      expect(get.out).toMatch(/^ {2}.*giving up$/m);
    }, 180_000);
  });
}
