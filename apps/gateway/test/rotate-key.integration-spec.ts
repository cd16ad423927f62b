import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rotateKey } from '../src/rotate-key.js';
import { startGateway } from './harness.js';

const swarm = process.env.BERTH_SKIP_SWARM !== '1';

(swarm ? describe : describe.skip)('secret key rotation', () => {
  it('re-seals credentials and app secret values under a new key, after which the old key is no longer needed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-rotate-'));
    const app = `rot-${Date.now().toString(36)}`;
    const spec = {
      name: app,
      secrets: { token: { value: 'rotate-me-value' } },
      services: { api: { image: 'berth-test/busybox:1', secrets: [{ source: 'token' }] } },
    };
    const oldKey = Buffer.alloc(32, 1).toString('base64');
    const newKey = Buffer.alloc(32, 2).toString('base64');
    try {
      let gw = await startGateway({ BERTH_DATA_DIR: dir, BERTH_SECRET_KEY: oldKey });
      expect((await gw.call('POST', '/v1/clusters', { name: 'local', kind: 'swarm', socketPath: '/var/run/docker.sock' })).status).toBe(201);
      expect((await gw.call('POST', '/v1/clusters/local/apps?wait=true', spec)).body).toMatchObject({ changed: true, operation: { status: 'succeeded' } });
      await gw.close();

      // without the old key the stored credentials cannot be opened, and the cluster says why
      gw = await startGateway({ BERTH_DATA_DIR: dir, BERTH_SECRET_KEY: newKey });
      const locked = await gw.call('GET', '/v1/clusters/local');
      expect(locked.body.health).toMatchObject({ status: 'unreachable', message: expect.stringMatching(/sealed with key \w+, which is not configured/) });
      await gw.close();

      expect(await rotateKey({ BERTH_DATA_DIR: dir, BERTH_SECRET_KEY: newKey, BERTH_SECRET_KEY_PREVIOUS: oldKey })).toEqual({
        resealed: 1,
        current: 0,
        secretsResealed: 1,
        secretsCurrent: 0,
      });
      expect(await rotateKey({ BERTH_DATA_DIR: dir, BERTH_SECRET_KEY: newKey, BERTH_SECRET_KEY_PREVIOUS: oldKey })).toEqual({
        resealed: 0,
        current: 1,
        secretsResealed: 0,
        secretsCurrent: 1,
      });

      gw = await startGateway({ BERTH_DATA_DIR: dir, BERTH_SECRET_KEY: newKey });
      const open = await gw.call('GET', '/v1/clusters/local');
      expect(open.body.health.status).toBe('healthy');
      // the re-sealed value opens under the new key: the same value is recognised as unchanged
      expect((await gw.call('POST', '/v1/clusters/local/apps?wait=true', spec)).body).toMatchObject({ changed: false, revision: 1 });
      expect((await gw.call('DELETE', `/v1/clusters/local/apps/${app}?wait=true`)).status).toBe(200);
      await gw.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
