import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createScratchDatabase } from '@berth/db';
import { ADMIN_TOKEN, type RunningGateway, startGateway } from './harness.js';

/**
 * Runs every command of the README's "Try it" section, as written, with bash and curl against a
 * real gateway, the local swarm and the Kubernetes test cluster. Only what cannot exist here is
 * replaced, each replacement checked to still match the README: the address, images that no
 * registry serves here, and the operation id the reader pastes in.
 */
const run = promisify(execFile);
const README = path.resolve(import.meta.dirname, '../../../README.md');
const enabled = process.env.BERTH_SKIP_SWARM !== '1' && process.env.BERTH_SKIP_KUBERNETES !== '1' && !!process.env.BERTH_KUBECONFIG;

/** The commands of the first sh block after `heading`, continuation lines joined. */
export function commandsOf(markdown: string, heading: string): string[] {
  const section = markdown.slice(markdown.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const commands: string[] = [];
  let current = '';
  for (const line of block.split('\n')) {
    if (!current && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    current += (current ? '\n' : '') + line;
    if (/(\\|\|)\s*$/.test(line)) continue;
    commands.push(current);
    current = '';
  }
  return commands;
}

const COMPOSE = `name: blog
services:
  web:
    image: berth-test/http:1
    ports: ["80"]
    deploy:
      replicas: 2
      update_config: { parallelism: 1, monitor: 2s }
`;

(enabled ? describe : describe.skip)('the README examples', () => {
  let gw: RunningGateway;
  let work: string;
  let drop: () => Promise<void>;
  const outputs: string[] = [];

  beforeAll(async () => {
    const db = await createScratchDatabase(process.env.DATABASE_URL!, 'berth_readme');
    drop = db.drop;
    work = await mkdtemp(path.join(tmpdir(), 'berth-readme-'));
    gw = await startGateway({ DATABASE_URL: db.url, BERTH_DATA_DIR: work });
    await writeFile(path.join(work, 'docker-compose.yml'), COMPOSE);
    await mkdir(path.join(work, '.kube'));
    await copyFile(process.env.BERTH_KUBECONFIG!, path.join(work, '.kube', 'config'));
  }, 60_000);

  afterAll(async () => {
    await gw?.call('DELETE', '/v1/clusters/local/apps/blog?volumes=true&wait=true').catch(() => undefined);
    await gw?.close();
    await drop?.();
  });

  it('every command of "Try it" succeeds as written', async () => {
    const commands = commandsOf(await readFile(README, 'utf8'), '## Try it');
    expect(commands.length).toBeGreaterThan(15);
    const address = new URL(gw.url).host;
    // images the README names that no registry serves here, replaced by the test images
    const replacements: [string, string][] = [
      ['"image":"nginx:1.27"', '"image":"berth-test/http:2"'],
      ['"image":"blog:1.4","command":["./migrate"]', '"image":"berth-test/job:ok"'],
    ];
    for (const [from] of replacements) expect(commands.some((c) => c.includes(from))).toBe(true);
    let lastOperation = '';
    for (const written of commands) {
      if (written.startsWith('export TOKEN=')) continue;
      let command = written.replaceAll('localhost:8080', address).replace('<operation id>', lastOperation);
      for (const [from, to] of replacements) command = command.replace(from, to);
      // the README's alias, as a function (aliases do not expand in a script); fail on any HTTP error
      const script = `set -eo pipefail\nbcurl() { curl -s --fail-with-body -H "authorization: Bearer $TOKEN" "$@"; }\n${command.replace(/^alias bcurl=.*$/m, ':')}`;
      const { stdout } = await run('bash', ['-c', script], { cwd: work, env: { ...process.env, HOME: work, TOKEN: ADMIN_TOKEN }, timeout: 180_000 }).catch(
        (e: { stdout?: string; stderr?: string; message: string }) => {
          throw new Error(`README command failed:\n${written}\n${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
        },
      );
      outputs.push(stdout);
      const id = /"operation":\{"id":"([0-9a-f-]{36})"/.exec(stdout)?.[1];
      if (id) lastOperation = id;
    }
    const joined = outputs.join('\n');
    // the deploy converged, the rollback ran, the job succeeded, the history has the app
    expect(joined).toMatch(/"kind":"apply","status":"succeeded"/);
    expect(joined).toMatch(/"kind":"rollback","status":"succeeded"/);
    expect(joined).toMatch(/"kind":"job","status":"succeeded"/);
    expect(joined).toMatch(/event: end\ndata: \{"status":"succeeded"/);
  }, 600_000);

  /** Runs README commands as written, with bcurl and the built CLI against the test gateway; their outputs. */
  const runWithCli = async (commands: string[]): Promise<string[]> => {
    const cli = path.resolve(import.meta.dirname, '../../../packages/client/dist/cli.js');
    const outs: string[] = [];
    for (const written of commands) {
      const command = written.replaceAll('localhost:8080', new URL(gw.url).host).replace('packages/client/dist/cli.js', cli);
      const script = `set -eo pipefail\nbcurl() { curl -s --fail-with-body -H "authorization: Bearer $TOKEN" "$@"; }\n${command}`;
      const env = { ...process.env, HOME: work, TOKEN: ADMIN_TOKEN, BERTH_URL: gw.url, BERTH_TOKEN: ADMIN_TOKEN };
      const { stdout } = await run('bash', ['-c', script], { cwd: work, env, timeout: 60_000 }).catch(
        (e: { stdout?: string; stderr?: string; message: string }) => {
          throw new Error(`README command failed:\n${written}\n${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
        },
      );
      outs.push(stdout);
    }
    return outs;
  };

  it('the Compose examples run as written, and report every key', async () => {
    await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' });
    const commands = commandsOf(await readFile(README, 'utf8'), '## Compose files');
    expect(commands.length).toBe(5);
    const outs = await runWithCli(commands);
    expect(outs[0]).toMatch(/"carried": \d+/);
    expect(outs[1]).toMatch(/"active": \[\s*"debug"\s*\]/);
    expect(outs[2]).toMatch(/^services\.web\.deploy\.replicas +carried/m);
    expect(outs[4]).toMatch(/^blog: (changes|no change)$/m);
    expect(outs[4]).toMatch(/^KEY +STATUS +SWARM +KUBERNETES/m);
  }, 120_000);

  it('the workload policy examples run as written', async () => {
    // the cluster "Try it" registers, when this runs alone
    await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' });
    const commands = commandsOf(await readFile(README, 'utf8'), '- **Workload policy**');
    expect(commands.length).toBe(3);
    await writeFile(path.join(work, 'policy.yml'), 'hostPaths:\n  - prefix: /srv/data\n    readOnly: true\n');
    const outs = await runWithCli(commands);
    expect(JSON.parse(outs[1]!)).toMatchObject({
      cluster: 'local',
      isDefault: false,
      policy: { hostPaths: [{ prefix: '/srv/data' }], apps: { metrics: { capabilities: ['NET_ADMIN'] } } },
    });
    expect(outs[2]).toMatch(/^local: policy set by token:/);
    expect((await gw.call('GET', '/v1/clusters/local/policy')).body.policy.hostPaths).toEqual([{ prefix: '/srv/data', readOnly: true }]);
    await gw.call('PUT', '/v1/clusters/local/policy', {});
  }, 120_000);
});
