import { describe, expect, it } from '@jest/globals';
import { AppSpec, JobSpec, SpecValidationError, UpdatePolicy, canonicalJson, parseOrThrow, specHash, unresolvedSecrets } from '@berth/model';

const issuesOf = (input: unknown): string[] => {
  try {
    parseOrThrow(AppSpec, input, 'app spec');
  } catch (e) {
    if (e instanceof SpecValidationError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};

describe('AppSpec', () => {
  it('fills defaults and parses durations into milliseconds', () => {
    const spec = AppSpec.parse({
      name: 'shop',
      services: { web: { image: 'nginx:1.27', update: { delay: '1m30s', monitor: '500ms', order: 'start-first' } } },
    });
    const web = spec.services.web!;
    expect(web.replicas).toBe(1);
    expect(web.mode).toBe('replicated');
    expect(web.update).toEqual({ parallelism: 1, delay: 90_000, order: 'start-first', failureAction: 'pause', monitor: 500, maxFailureRatio: 0 });
  });

  it('names the exact path and the problem', () => {
    expect(issuesOf({ name: 'shop', services: { web: { image: 'x', ports: [{ target: 70000 }] } } })).toEqual([
      'services.web.ports[0].target: expected an integer 1-65535',
    ]);
  });

  it('refuses unknown fields by name', () => {
    expect(issuesOf({ name: 'shop', services: { web: { image: 'x', replica: 3 } } })).toEqual(['services.web: unknown field "replica"']);
  });

  it('reports every problem at once, including missing fields', () => {
    const issues = issuesOf({ name: 'Shop!', services: { web: { replicas: -1 } } });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name: expected a DNS label/),
        'services.web.image: required',
        expect.stringMatching(/^services\.web\.replicas: /),
      ]),
    );
  });

  it('refuses a shared volume that is not declared with a driver or storage class', () => {
    expect(issuesOf({ name: 'a', services: { s: { image: 'x', volumes: [{ type: 'shared', source: 'files', target: '/srv' }] } } })).toEqual([
      expect.stringMatching(/^services\.s\.volumes\[0\]\.source: shared volume "files" is not declared/),
    ]);
    expect(
      issuesOf({
        name: 'a',
        services: { s: { image: 'x', volumes: [{ type: 'shared', source: 'files', target: '/srv' }] } },
        volumes: { files: {} },
      }),
    ).toEqual([expect.stringMatching(/^volumes\.files: a shared volume needs a "driver"/)]);
  });

  it('refuses a service named like a member of a stateful service (db-1 beside a stateful db)', () => {
    const r = AppSpec.safeParse({
      name: 'shop',
      services: { db: { image: 'x', stateful: true, replicas: 2 }, 'db-1': { image: 'y' }, 'db-admin': { image: 'z' } },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues).toEqual([
      expect.objectContaining({ path: ['services', 'db-1'], message: expect.stringContaining('member of the stateful service "db"') }),
    ]);
  });

  it('refuses a global stateful service, a bad duration and a volume kind it does not know', () => {
    const issues = issuesOf({
      name: 'a',
      services: {
        s: { image: 'x', mode: 'global', stateful: true, update: { delay: '10 seconds' }, volumes: [{ type: 'nfs', target: '/x' }] },
      },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'services.s.update.delay: expected a duration like "500ms", "10s" or "1m30s", got "10 seconds"',
        expect.stringMatching(/^services\.s\.volumes\[0\]\.type: expected a volume with type/),
      ]),
    );
  });

  it('refuses the same published port twice and the same mount target twice', () => {
    const issues = issuesOf({
      name: 'a',
      services: {
        s: {
          image: 'x',
          ports: [
            { target: 80, published: 8080 },
            { target: 81, published: 8080 },
          ],
          volumes: [
            { type: 'implicit', target: '/d' },
            { type: 'hostPath', source: '/srv', target: '/d' },
          ],
        },
      },
    });
    expect(issues).toEqual(['services.s.volumes[1].target: mounted twice at "/d"', 'services.s.ports[1].published: port 8080/tcp is published twice']);
  });
});

describe('secrets', () => {
  const withSecrets = (secrets: unknown, mounts: unknown, volumes: unknown[] = []) => ({
    name: 'shop',
    secrets,
    services: { api: { image: 'x', secrets: mounts, volumes } },
  });

  it('accepts a value, a stored version or {} (keep), mounted by name under /run/secrets', () => {
    const spec = AppSpec.parse(
      withSecrets(
        { key: { value: 's3cret' }, tls: { version: '0123456789ab' }, old: {} },
        ['key', 'tls', 'old'].map((source) => ({ source })),
      ),
    );
    expect(spec.services.api!.secrets[0]).toEqual({ source: 'key', mode: 0o444 });
  });

  it('refuses a mount of an undeclared secret, both a value and a version, a path as file name, two mounts of one file and a volume over /run/secrets', () => {
    const mounts = [{ source: 'nope' }, { source: 'key', target: 'a/b' }, { source: 'key', target: 'k' }, { source: 'key', target: 'k' }];
    expect(issuesOf(withSecrets({ key: { value: 'a', version: '0123456789ab' } }, mounts, [{ type: 'implicit', target: '/run/secrets/x' }]))).toEqual([
      'services.api.secrets[1].target: expected a file name under /run/secrets: letters, digits, ".", "_" and "-", no "/"',
      "services.api.volumes[0].target: /run/secrets holds the service's secrets: mount the volume elsewhere",
      'services.api.secrets[3].target: /run/secrets/k is mounted twice',
      'secrets.key: give either "value" (a new value) or "version" (a stored one), not both',
      'services.api.secrets[0].source: secret "nope" is not declared under the app\'s "secrets"',
    ]);
  });

  it('names what a driver must not receive: values, and mounts without a version', () => {
    const spec = AppSpec.parse(withSecrets({ key: { value: 'a' } }, [{ source: 'key' }]));
    expect(unresolvedSecrets(spec)).toEqual(['secrets.key: expected a stored version, not a value', 'services.api.secrets[0]: secret "key" has no version']);
    const resolved = AppSpec.parse(withSecrets({ key: { version: '0123456789ab' } }, [{ source: 'key', version: '0123456789ab' }]));
    expect(unresolvedSecrets(resolved)).toEqual([]);
  });
});

describe('UpdatePolicy and JobSpec', () => {
  it('allows only the three failure actions', () => {
    expect(UpdatePolicy.safeParse({ failureAction: 'retry' }).success).toBe(false);
    expect(UpdatePolicy.parse({ failureAction: 'rollback' }).failureAction).toBe('rollback');
  });

  it('defaults a job to one run and no retries', () => {
    expect(JobSpec.parse({ name: 'migrate', image: 'app:1' })).toMatchObject({ parallelism: 1, completions: 1, backoffLimit: 0 });
  });
});

describe('specHash', () => {
  it('does not depend on key order, and changes with any value', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(specHash({ a: 1, b: 2 })).toBe(specHash({ b: 2, a: 1 }));
    expect(specHash({ a: 1 })).not.toBe(specHash({ a: 2 }));
  });
});
