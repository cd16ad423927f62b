import { describe, expect, it } from '@jest/globals';
import { AppSpec, JobSpec, SpecValidationError, UpdatePolicy, canonicalJson, parseOrThrow, specHash } from '@berth/spec';

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
