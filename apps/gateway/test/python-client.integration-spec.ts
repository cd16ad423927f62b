import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OPENAPI_FILE } from '../src/schema-file.js';
import { ADMIN_TOKEN, type RunningGateway, startGatewayWithCluster } from './harness.js';

/**
 * A Python client generated from the checked-in openapi.json by openapi-python-client (pinned, from
 * PyPI, installed by packages/testenv/python-client/setup.sh) talks to a real gateway with a real swarm
 * cluster: typed models back, errors parsed into the documented Error shape.
 */
const REPO = path.resolve(import.meta.dirname, '../../..');

describe('generated Python client', () => {
  let gw: RunningGateway;
  let dir: string;
  let venv: string;

  beforeAll(async () => {
    const setup = execFileSync('bash', [path.join(REPO, 'packages/testenv/python-client/setup.sh')], { encoding: 'utf8' });
    venv = setup.trim().split('\n').pop()!;
    dir = await mkdtemp(path.join(tmpdir(), 'berth-python-client-'));
    gw = await startGatewayWithCluster('swarm', 'python_client');
  }, 300_000);

  afterAll(async () => {
    await gw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('generates from the document without dropping a schema', async () => {
    const run = spawnSync(
      path.join(venv, 'bin/openapi-python-client'),
      ['generate', '--path', OPENAPI_FILE, '--output-path', path.join(dir, 'berth_client'), '--meta', 'none'],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(0);
    // a schema the generator cannot turn into a model is removed from the client, with this message
    expect(run.stdout + run.stderr).not.toMatch(/Unable to process schema|Failure to process schema/);
    const models = await readdir(path.join(dir, 'berth_client/models'));
    expect(models).toEqual(expect.arrayContaining(['app_spec.py', 'service_spec.py', 'update_policy.py', 'operation.py', 'error.py', 'cluster.py']));
  }, 300_000);

  it('calls the gateway: health, clusters, apps, tokens, and typed errors', async () => {
    // asynchronously: the gateway answering it runs in this process
    const run = await promisify(execFile)(path.join(venv, 'bin/python'), [path.join(import.meta.dirname, 'python-client/calls.py'), gw.url, ADMIN_TOKEN], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: dir },
    });
    expect(run.stderr).toBe('');
    const answer = JSON.parse(run.stdout);
    expect(answer).toEqual({
      health: 200,
      clusters: [{ name: 'c1', kind: 'swarm' }],
      apps: 0,
      missing: ['Error', 'NOT_FOUND'],
      refused: ['Error', 'UNAUTHENTICATED'],
      created: ['from-python', true],
      tokens: expect.arrayContaining(['from-python']),
    });
  }, 120_000);
});
