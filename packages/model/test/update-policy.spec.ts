import { describe, expect, it } from '@jest/globals';
import { AppSpec, DEFAULT_UPDATE_POLICY, UpdatePolicyPatch, parseOrThrow, patchUpdatePolicy, rollbackPolicyOf, updatePolicyOf } from '@berth/model';

const web = AppSpec.parse({
  name: 'shop',
  services: { web: { image: 'nginx:1.27', update: { delay: '10s', order: 'start-first', failureAction: 'rollback', monitor: '3s', maxFailureRatio: 0.2 } } },
}).services.web!;

describe('update policy patches', () => {
  it('a patch holds only the fields it names: no defaults are filled in', () => {
    expect(parseOrThrow(UpdatePolicyPatch, { parallelism: 1 }, 'update')).toEqual({ parallelism: 1 });
    expect(parseOrThrow(UpdatePolicyPatch, { delay: '2s' }, 'update')).toEqual({ delay: 2000 });
  });

  it('merging a patch changes only what it names and keeps the rest of the stored policy', () => {
    expect(patchUpdatePolicy(web, { parallelism: 1 })).toEqual({
      parallelism: 1,
      delay: 10_000,
      order: 'start-first',
      failureAction: 'rollback',
      monitor: 3000,
      maxFailureRatio: 0.2,
    });
  });

  it('a patch on a service without a policy starts from the defaults', () => {
    expect(patchUpdatePolicy({}, { order: 'start-first' })).toEqual({ ...DEFAULT_UPDATE_POLICY, order: 'start-first' });
  });

  it('refuses a field that is not a policy field, by name', () => {
    expect(() => parseOrThrow(UpdatePolicyPatch, { paralelism: 2 }, 'update')).toThrow(/unknown field "paralelism"/);
  });

  it('the effective policies are the service’s own, else the defaults', () => {
    expect(updatePolicyOf(web).delay).toBe(10_000);
    expect(updatePolicyOf({})).toEqual(DEFAULT_UPDATE_POLICY);
    expect(rollbackPolicyOf({}).failureAction).toBe('pause');
  });
});
