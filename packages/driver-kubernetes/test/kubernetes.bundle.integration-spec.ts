import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { kubernetesSuite } from '@berth/testkit';

// The module the package exports is dist/bundle.js (client-node inlined and minified, scripts/bundle.mjs),
// while the other tests run the TypeScript sources. This one starts the built bundle in a plain Node
// process, as the gateway loads it, and drives a real cluster through it: a deploy, its rollout, cached
// and fresh reads (the read model's watches run on the bundled client too), events and removal.
const BUNDLE = path.resolve(import.meta.dirname, '../dist/bundle.js');
const MODEL = path.resolve(import.meta.dirname, '../node_modules/@berth/model/dist/index.js');

const SCRIPT = `
import { readFileSync } from 'node:fs';
const { createKubernetesDriver } = await import(process.env.BUNDLE);
const { AppSpec } = await import(process.env.MODEL);
const kubeconfig = readFileSync(process.env.BERTH_KUBECONFIG, 'utf8');
const app = 'k8s-bundle-' + Date.now().toString(36);
const driver = createKubernetesDriver({ kind: 'kubernetes', kubeconfig }, { readModel: true });
const out = {};
try {
  const info = await driver.info();
  out.info = { kind: info.kind, version: info.version, nodes: info.nodes.length };
  const events = [];
  const stop = new AbortController();
  const watching = (async () => { for await (const e of driver.events({ app, signal: stop.signal })) { events.push(e.objectKind); break; } })().catch(() => undefined);
  await driver.apply(AppSpec.parse({ name: app, services: { web: { image: 'berth-test/http:1', replicas: 1 } } }));
  let last;
  for await (const s of driver.followRollout({ app, service: 'web' }, { pollIntervalMs: 250 })) last = s;
  out.rollout = last.state;
  out.fresh = (await driver.listServices(app, { consistency: 'fresh' })).map((s) => ({ service: s.service, replicas: s.replicas }));
  for (let i = 0; i < 100 && (await driver.readModel()).state !== 'live'; i++) await new Promise((r) => setTimeout(r, 100));
  out.readModel = (await driver.readModel()).state;
  // reads of an app go to the orchestrator for 2 s after the driver wrote it (read-your-writes)
  let cached = await driver.listServices(app, { consistency: 'cached' });
  for (let i = 0; i < 50 && cached[0]?.observed?.source !== 'cache'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    cached = await driver.listServices(app, { consistency: 'cached' });
  }
  out.cached = cached.map((s) => ({ service: s.service, replicas: s.replicas, source: s.observed?.source }));
  await Promise.race([watching, new Promise((r) => setTimeout(r, 10000))]);
  stop.abort();
  out.events = events.length;
} catch (e) {
  out.error = String(e?.stack ?? e);
} finally {
  out.removed = (await driver.remove(app).catch((e) => ({ removed: [String(e)] }))).removed.length;
  await driver.close();
}
process.stdout.write(JSON.stringify(out));
`;

const kubeconfig = kubernetesSuite('the built kubernetes driver bundle');
if (kubeconfig !== undefined) {
  describe('the built kubernetes driver bundle', () => {
    it('deploys, follows, reads (fresh and from its watches) and removes an app on a real cluster', async () => {
      expect(existsSync(BUNDLE)).toBe(true); // built by `pnpm run build` (the README's test command runs it)
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', SCRIPT], {
        env: { ...process.env, BUNDLE, MODEL },
        timeout: 150_000,
        maxBuffer: 1 << 20,
      });
      const out = JSON.parse(stdout) as Record<string, unknown>;
      expect(out.error).toBeUndefined();
      expect(out.info).toMatchObject({ kind: 'kubernetes', version: expect.stringMatching(/^v?1\.\d+/) });
      expect((out.info as { nodes: number }).nodes).toBeGreaterThan(0);
      expect(out.rollout).toBe('completed');
      expect(out.fresh).toEqual([{ service: 'web', replicas: expect.objectContaining({ desired: 1, running: 1 }) }]);
      expect(out.readModel).toBe('live');
      expect(out.cached).toEqual([{ service: 'web', replicas: expect.objectContaining({ desired: 1, running: 1 }), source: 'cache' }]);
      expect(out.events).toBeGreaterThan(0);
      expect(out.removed).toBeGreaterThan(0);
    }, 180_000);
  });
}
