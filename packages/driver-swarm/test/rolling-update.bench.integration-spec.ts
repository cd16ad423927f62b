import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AppSpec, type ServiceSpec } from '@berth/model';
import type { RolloutStatus, ServiceRef } from '@berth/driver';
import { createSwarmDriver } from '@berth/driver-swarm';

/**
 * A 3-replica rolling update (parallelism 2, delay 2 s, monitor 5 s, stop-first) through the driver,
 * against the same update made with the docker CLI in the same run. Opt-in, it takes about two
 * minutes:
 *   BERTH_BENCH=1 DATABASE_URL=x BERTH_SKIP_KUBERNETES=1 BERTH_DOCKER_SOCKET=/var/run/docker.sock \
 *     pnpm test packages/driver-swarm/test/rolling-update.bench --selectProjects integration
 */

const run = process.env.BERTH_BENCH === '1' && process.env.BERTH_SKIP_SWARM !== '1';
const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
// Debian's CLI matches the 20.10 engine's API exactly (the 28.x one in /usr/local/bin negotiates down)
const cli = process.env.BERTH_DOCKER_CLI ?? '/usr/bin/docker';
const ROUNDS = Number(process.env.BERTH_BENCH_ROUNDS ?? 2);
const exec = promisify(execFile);
const docker = async (...args: string[]): Promise<string> =>
  (await exec(cli, args, { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` } })).stdout.trim();

const app = `bench-${Date.now().toString(36)}`;
const cliService = `${app}-cli`;
const policy = { parallelism: 2, delay: '2s', order: 'stop-first', monitor: '5s' } as const;
const spec = AppSpec.parse({ name: app, services: { web: { image: 'berth-test/http:1', replicas: 3, update: policy } } });
const ref: ServiceRef = { app, service: 'web' };
const at = (image: string): ServiceSpec => ({ ...spec.services.web!, image });
const seconds = (ms: number) => (ms / 1000).toFixed(2);

(run ? describe : describe.skip)('rolling update: driver vs docker CLI', () => {
  const driver = createSwarmDriver({ kind: 'swarm', socketPath });
  const results: Record<string, number[]> = { driver: [], 'cli (attached)': [], 'cli (-d + inspect poll)': [] };

  const driverRollout = async (image: string): Promise<number> => {
    const started = performance.now();
    await driver.updateService(ref, at(image));
    let end: RolloutStatus | undefined;
    for await (const s of driver.followRollout(ref, { pollIntervalMs: 250, signal: AbortSignal.timeout(120_000) })) end = s;
    expect(end?.state).toBe('completed');
    return performance.now() - started;
  };
  const updateArgs = (image: string) => [
    'service',
    'update',
    '--quiet',
    '--image',
    image,
    '--update-parallelism',
    '2',
    '--update-delay',
    '2s',
    '--update-order',
    'stop-first',
    '--update-monitor',
    '5s',
    cliService,
  ];
  const cliAttached = async (image: string): Promise<number> => {
    const started = performance.now();
    await docker(...updateArgs(image));
    return performance.now() - started;
  };
  const cliPolled = async (image: string): Promise<number> => {
    const started = performance.now();
    await docker(...updateArgs(image).slice(0, 2), '--detach', ...updateArgs(image).slice(2));
    while ((await docker('service', 'inspect', '--format', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', cliService)) !== 'completed') await sleep(250);
    return performance.now() - started;
  };

  afterAll(async () => {
    await docker('service', 'rm', cliService).catch(() => '');
    await driver.remove(app);
    await driver.close();
    const lines = Object.entries(results).map(([how, ms]) => {
      const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
      return `  ${how.padEnd(26)} ${ms.map(seconds).join(' s, ')} s   (mean ${seconds(mean)} s)`;
    });
    console.log(`rolling update, 3 replicas, parallelism 2, delay 2s, monitor 5s, stop-first, ${ROUNDS} round(s):\n${lines.join('\n')}`);
  }, 120_000);

  it('measures both', async () => {
    await driver.apply(spec);
    for await (const _ of driver.followRollout(ref, { pollIntervalMs: 250 })) void _;
    // on the same overlay network: attaching a task to an overlay takes seconds, and Berth always attaches
    await docker(
      'service',
      'create',
      '--quiet',
      '--name',
      cliService,
      '--network',
      `name=${app}_default,alias=web-cli`,
      '--replicas',
      '3',
      'berth-test/http:1',
    );

    for (let round = 0; round < ROUNDS; round += 1) {
      results.driver!.push(await driverRollout('berth-test/http:2'));
      results['cli (attached)']!.push(await cliAttached('berth-test/http:2'));
      // back to v1 (not timed), then the same update once more with the detached CLI
      await cliAttached('berth-test/http:1');
      results['cli (-d + inspect poll)']!.push(await cliPolled('berth-test/http:2'));
      await cliAttached('berth-test/http:1');
      await driverRollout('berth-test/http:1');
    }
  }, 900_000);
});
