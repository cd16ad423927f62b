import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppSpec } from '@berth/model';
import { DriverErrorCode, type OrchestratorDriver, guardDriver } from '@berth/driver';

/** A driver that records what reaches it and answers after `delayMs`. */
function recordingDriver(delayMs = 0) {
  const received: unknown[] = [];
  const answer = async (value: unknown) => {
    await sleep(delayMs);
    return value;
  };
  const driver = {
    kind: 'swarm',
    apply: (spec: unknown) => (received.push(spec), answer({ app: 'a', changed: true, objects: [], warnings: [], rollingServices: [] })),
    listServices: () => answer([]),
  } as unknown as OrchestratorDriver;
  return { driver, received };
}

const spec = (secret: Record<string, string>, mount: Record<string, string>) =>
  ({ name: 'shop', secrets: { key: secret }, services: { api: { image: 'x', secrets: [{ source: 'key', ...mount }] } } }) as unknown as AppSpec;

describe('guardDriver', () => {
  it('refuses a spec still carrying a secret value, or a mount without a version, before the driver sees it', async () => {
    const { driver, received } = recordingDriver();
    const guarded = guardDriver(driver, { timeoutMs: 1000 });
    await expect(guarded.apply(spec({ value: 'hunter2' }, {}))).rejects.toMatchObject({
      code: DriverErrorCode.Invalid,
      message: expect.stringMatching(/secrets\.key: expected a stored version, not a value; services\.api\.secrets\[0\]: secret "key" has no version/),
    });
    expect(received).toEqual([]);
  });

  it('hands the driver the parsed spec, defaults filled in', async () => {
    const { driver, received } = recordingDriver();
    await guardDriver(driver, { timeoutMs: 1000 }).apply(spec({ version: '0123456789ab' }, { version: '0123456789ab' }));
    expect(received).toEqual([
      expect.objectContaining({
        labels: {},
        volumes: {},
        services: { api: expect.objectContaining({ replicas: 1, env: {}, secrets: [expect.objectContaining({ mode: 0o444 })] }) },
      }),
    ]);
  });

  it('bounds whole-app writes by the longer timeout, other calls by the short one', async () => {
    const guarded = guardDriver(recordingDriver(150).driver, { timeoutMs: 50, slowTimeoutMs: 1000 });
    await expect(guarded.apply(spec({ version: '0123456789ab' }, { version: '0123456789ab' }))).resolves.toMatchObject({ changed: true });
    await expect(guarded.listServices()).rejects.toMatchObject({ code: DriverErrorCode.Timeout, message: 'swarm listServices did not answer within 50 ms' });
  });
});
