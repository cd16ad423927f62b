import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { ServiceSpec, canonicalJson, type ServiceSpecInput } from '@berth/model';
import { LABEL } from '@berth/driver';
import { ANNOTATION, type RolloutRecord } from '../src/kubernetes-objects.mapper.js';
import { assessRollout, parseQuantity, replicaSetsNeeded, serviceFromName, volumeInfo, type WorkloadSnapshot } from '../src/kubernetes-status.mapper.js';

const UID = 'uid-web';

function deployment(opts: {
  spec: ServiceSpecInput;
  previous?: ServiceSpecInput;
  record?: RolloutRecord;
  status: NonNullable<V1Deployment['status']>;
  replicas?: number;
  paused?: boolean;
}): V1Deployment {
  const annotations: Record<string, string> = {
    [LABEL.spec]: canonicalJson(ServiceSpec.parse(opts.spec)),
    'deployment.kubernetes.io/revision': '2',
  };
  if (opts.previous) annotations[LABEL.previousSpec] = canonicalJson(ServiceSpec.parse(opts.previous));
  if (opts.record) annotations[ANNOTATION.rollout] = JSON.stringify(opts.record);
  return {
    metadata: { name: 'web', namespace: 'shop', uid: UID, generation: 2, annotations, labels: { [LABEL.service]: 'web' } },
    spec: { replicas: opts.replicas ?? 3, selector: {}, template: {}, ...(opts.paused ? { paused: true } : {}) },
    status: { observedGeneration: 2, ...opts.status },
  };
}

const rs = (name: string, revision: string, hash: string): V1ReplicaSet => ({
  metadata: {
    name,
    annotations: { 'deployment.kubernetes.io/revision': revision },
    labels: { 'pod-template-hash': hash },
    ownerReferences: [{ uid: UID, kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }],
  },
  spec: { selector: {} },
});

const pod = (name: string, hash: string, state: 'ready' | 'unready' | 'crash'): V1Pod => ({
  metadata: { name, labels: { 'pod-template-hash': hash } },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: state === 'ready' ? 'True' : 'False' }],
    containerStatuses: [
      {
        name: 'web',
        image: 'x',
        imageID: '',
        ready: state === 'ready',
        restartCount: state === 'crash' ? 2 : 0,
        ...(state === 'crash' ? { state: { waiting: { reason: 'CrashLoopBackOff' } } } : {}),
      },
    ],
  },
});

const snap = (
  workload: V1Deployment,
  pods: V1Pod[] = [],
  replicaSets: V1ReplicaSet[] = [rs('web-old', '1', 'old'), rs('web-new', '2', 'new')],
): WorkloadSnapshot => ({
  kind: 'Deployment',
  workload,
  pods,
  replicaSets,
});

const rollbackPolicy = { failureAction: 'rollback' as const, parallelism: 1, monitor: '4s' };
const deadline = (rsName: string) => ({
  type: 'Progressing',
  status: 'False',
  reason: 'ProgressDeadlineExceeded',
  message: `ReplicaSet "${rsName}" has timed out progressing.`,
});

describe('rollout assessment', () => {
  it('completes when every replica is updated and available and no old one is left, counting batches from parallelism', () => {
    const d = deployment({
      spec: { image: 'v2', replicas: 3, update: { parallelism: 2 } },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
    });
    const { status, action } = assessRollout(snap(d));
    expect(status.state).toBe('completed');
    expect(status.batches).toEqual({ done: 2, total: 2 });
    expect(action).toBeUndefined();
  });

  it('an update whose new pods are all ready is complete only once the newest has stayed ready for the monitor window', () => {
    const readyAt = (name: string, at: number): V1Pod => {
      const p = pod(name, 'new', 'ready');
      p.status!.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(at) }];
      return p;
    };
    const now = Date.parse('2026-12-01T12:00:00Z');
    const d = deployment({
      spec: { image: 'v2', replicas: 2, update: { ...rollbackPolicy, monitor: '4s' } },
      previous: { image: 'v1', replicas: 2 },
      status: { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
      replicas: 2,
    });
    const watching = assessRollout(snap(d, [readyAt('web-new-a', now - 10_000), readyAt('web-new-b', now - 1000)]), 0, now);
    expect(watching.status.state).toBe('progressing');
    expect(watching.status.message).toMatch(/watching them for failures for 4s/);
    // nothing else will change when the window ends: the follower is told when to look again
    expect(watching.recheckInMs).toBe(3000);
    expect(assessRollout(snap(d, [readyAt('web-new-a', now - 10_000), readyAt('web-new-b', now - 4001)]), 0, now).status.state).toBe('completed');
    // a new pod that crashes within the window fails the rollout though Kubernetes calls it complete
    const crashed = assessRollout(snap(d, [readyAt('web-new-a', now - 1000), pod('web-new-b', 'new', 'crash')]), 0, now);
    expect(crashed.action).toBe('rollback');
  });

  it('is progressing while old replicas remain', () => {
    const d = deployment({ spec: { image: 'v2' }, status: { replicas: 4, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 4 } });
    expect(assessRollout(snap(d)).status.state).toBe('progressing');
  });

  it('a progress deadline on the current ReplicaSet with failureAction rollback asks for a rollback to the previous spec', () => {
    const d = deployment({
      spec: { image: 'bad', update: rollbackPolicy },
      previous: { image: 'v2' },
      record: { reason: 'update', startedAt: '2026-01-01T00:00:00Z' },
      status: { replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, conditions: [deadline('web-new')] },
    });
    const a = assessRollout(snap(d, [pod('web-new-1', 'new', 'unready')]));
    expect(a.action).toBe('rollback');
    expect(a.status.state).toBe('failed');
    expect(a.failure).toContain('ReplicaSet "web-new" has timed out progressing');
  });

  it('without a previous spec a rollback cannot happen: the rollout fails, saying why', () => {
    const d = deployment({ spec: { image: 'bad', update: rollbackPolicy }, status: { replicas: 3, updatedReplicas: 1, conditions: [deadline('web-new')] } });
    const a = assessRollout(snap(d));
    expect(a.action).toBeUndefined();
    expect(a.status.state).toBe('failed');
    expect(a.status.message).toMatch(/no previous spec to roll back to/);
  });

  it('ignores a deadline condition left over from another ReplicaSet (e.g. the one just rolled back from)', () => {
    const d = deployment({
      spec: { image: 'v2', update: rollbackPolicy },
      record: { reason: 'auto-rollback', startedAt: '2026-01-01T00:00:00Z', message: 'rolled back: no progress' },
      status: { replicas: 3, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [deadline('web-old')] },
    });
    const a = assessRollout(snap(d));
    expect(a.action).toBeUndefined();
    expect(a.status.state).toBe('rolling-back');
  });

  it("Berth's own rollback ends 'rolled-back' with the recorded reason", () => {
    const d = deployment({
      spec: { image: 'v2' },
      record: { reason: 'auto-rollback', startedAt: '2026-01-01T00:00:00Z', message: 'rollout of web failed: no progress for 10s; rolled back' },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
    });
    expect(assessRollout(snap(d)).status).toMatchObject({ state: 'rolled-back', message: 'rollout of web failed: no progress for 10s; rolled back' });
  });

  it('crashing new replicas beyond maxFailureRatio fail the rollout before any deadline; within it they do not', () => {
    const status = { replicas: 4, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };
    const pods = [pod('web-new-1', 'new', 'crash'), pod('web-new-2', 'new', 'ready'), pod('web-old-1', 'old', 'crash')];
    const strict = deployment({ spec: { image: 'bad', update: { failureAction: 'pause', maxFailureRatio: 0 } }, status });
    const a = assessRollout(snap(strict, pods));
    expect(a.action).toBe('pause');
    expect(a.status.failed).toBe(1);
    expect(a.failure).toContain('CrashLoopBackOff');
    const tolerant = deployment({ spec: { image: 'bad', update: { failureAction: 'pause', maxFailureRatio: 0.5 } }, status });
    expect(assessRollout(snap(tolerant, pods)).action).toBeUndefined();
  });

  it("failureAction continue keeps going past failed replicas, but a stuck rollout ends 'failed'", () => {
    const pods = [pod('web-new-1', 'new', 'crash')];
    const crashing = deployment({ spec: { image: 'bad', update: { failureAction: 'continue' } }, status: { replicas: 4, updatedReplicas: 1 } });
    const going = assessRollout(snap(crashing, pods));
    expect(going.status.state).toBe('progressing');
    expect(going.action).toBeUndefined();
    const stuck = deployment({
      spec: { image: 'bad', update: { failureAction: 'continue' } },
      status: { replicas: 4, updatedReplicas: 1, conditions: [deadline('web-new')] },
    });
    expect(assessRollout(snap(stuck, pods)).status.state).toBe('failed');
  });

  it('a paused Deployment reports paused', () => {
    const d = deployment({ spec: { image: 'v2' }, paused: true, status: { replicas: 3, updatedReplicas: 1 } });
    expect(assessRollout(snap(d)).status.state).toBe('paused');
  });

  it('does not judge a generation the controller has not observed yet', () => {
    const d = deployment({
      spec: { image: 'bad', update: rollbackPolicy },
      previous: { image: 'v2' },
      status: { observedGeneration: 1, conditions: [deadline('web-new')] },
    });
    expect(assessRollout(snap(d)).action).toBeUndefined();
  });
});

describe('ReplicaSets only when a Deployment needs them', () => {
  const done = { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };
  const withoutReplicaSets = (s: WorkloadSnapshot): WorkloadSnapshot => ({ kind: s.kind, workload: s.workload, pods: s.pods });

  it('a finished rollout does without them, with the same assessment (restarted replicas still count as failed)', () => {
    const d = deployment({ spec: { image: 'v2', replicas: 2 }, replicas: 2, status: done });
    const s = snap(d, [pod('web-new-1', 'new', 'ready'), pod('web-new-2', 'new', 'crash')]);
    expect(replicaSetsNeeded(s)).toBe(false);
    expect(assessRollout(withoutReplicaSets(s))).toEqual(assessRollout(s));
    expect(assessRollout(withoutReplicaSets(s)).status.failed).toBe(1);
  });

  it('as does a Deployment without pods and without a deadline, or one whose latest spec is not observed yet', () => {
    const empty = snap(deployment({ spec: { image: 'v2', replicas: 0 }, replicas: 0, status: {} }));
    expect(replicaSetsNeeded(empty)).toBe(false);
    expect(assessRollout(withoutReplicaSets(empty))).toEqual(assessRollout(empty));
    const unobserved = snap(deployment({ spec: { image: 'v2' }, status: { observedGeneration: 1, replicas: 3 } }), [pod('web-old-1', 'old', 'ready')]);
    expect(replicaSetsNeeded(unobserved)).toBe(false);
    expect(assessRollout(withoutReplicaSets(unobserved))).toEqual(assessRollout(unobserved));
  });

  it('a rollout under way, pods of two templates, a pod count the controller does not agree with, or a deadline need them', () => {
    const rolling = deployment({ spec: { image: 'v2', replicas: 2 }, replicas: 2, status: { replicas: 3, updatedReplicas: 1 } });
    expect(replicaSetsNeeded(snap(rolling, [pod('web-new-1', 'new', 'ready')]))).toBe(true);
    const finished = deployment({ spec: { image: 'v2', replicas: 2 }, replicas: 2, status: done });
    expect(replicaSetsNeeded(snap(finished, [pod('web-new-1', 'new', 'ready'), pod('web-old-1', 'old', 'ready')]))).toBe(true);
    expect(replicaSetsNeeded(snap(finished, [pod('web-new-1', 'new', 'ready')]))).toBe(true);
    const stuck = deployment({ spec: { image: 'v2', replicas: 0 }, replicas: 0, status: { conditions: [deadline('web-new')] } });
    expect(replicaSetsNeeded(snap(stuck))).toBe(true);
    expect(replicaSetsNeeded({ kind: 'StatefulSet', workload: finished, pods: [] })).toBe(false);
  });
});

describe('small mappings', () => {
  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('250m')).toBeCloseTo(0.25);
    expect(parseQuantity('64Gi')).toBe(64 * 2 ** 30);
    expect(parseQuantity('16')).toBe(16);
    expect(parseQuantity('1k')).toBe(1000);
    expect(parseQuantity('12345678n')).toBeCloseTo(0.012345678);
    expect(parseQuantity('x')).toBeNaN();
  });

  it('finds the service of an object by the longest name prefix', () => {
    const services = ['web', 'web-api', 'db'];
    expect(serviceFromName('web-5d4f8-x2x9z', services)).toBe('web');
    expect(serviceFromName('web-api-7c9d-abcde', services)).toBe('web-api');
    expect(serviceFromName('db-1', services)).toBe('db');
    expect(serviceFromName('job-migrate-x', services)).toBeUndefined();
  });

  it('names a StatefulSet claim by its volume and ordinal', () => {
    const v = volumeInfo({
      metadata: {
        name: 'data-db-1',
        namespace: 'shop',
        labels: { [LABEL.volume]: 'data', [LABEL.service]: 'db', [LABEL.volumeKind]: 'named', [LABEL.app]: 'shop' },
      },
      spec: { storageClassName: 'standard', resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Bound' },
    });
    expect(v).toMatchObject({ name: 'data-1', nativeName: 'data-db-1', kind: 'named', status: 'Bound', app: 'shop', storageClass: 'standard', size: '1Gi' });
  });
});
