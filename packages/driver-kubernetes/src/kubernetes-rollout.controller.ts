import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson, type ServiceSpec } from '@berth/model';
import {
  DriverError,
  DriverErrorCode,
  LABEL,
  MANAGER,
  TERMINAL_ROLLOUT_STATES,
  Wakeup,
  isDriverError,
  pollUntil,
  type FollowOptions,
  type RolloutStatus,
  type ServiceRef,
} from '@berth/driver';
import { ResourceVersionGone, type KubernetesClient } from './kubernetes.client.js';
import { renderService, type KubeObject, type WorkloadKind, type WorkloadState } from './kubernetes-objects.mapper.js';
import {
  assessRollout,
  iso,
  readContext,
  readSpec,
  readState,
  type RolloutAssessment,
  type Workload,
  type WorkloadSnapshot,
} from './kubernetes-status.mapper.js';

/** The collection a watch of each workload kind reads. */
const WORKLOAD_PATH: Record<WorkloadKind, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' };
/** How long a broken watch waits before watching again (the timed polls go on meanwhile). */
const WATCH_RETRY_MS = 1000;
/** Shortest time between two reads of a follower woken by its watch: a burst of status writes costs one read per this. */
const READ_GAP_MS = 50;

export interface LiveWorkload {
  kind: WorkloadKind;
  workload: Workload;
}

function template(obj: KubeObject): string {
  return canonicalJson((obj.spec as { template?: unknown } | undefined)?.template);
}

/**
 * Whether writing `next` over the live workload starts a rollout: a new kind of workload, or a new
 * pod template (a change of policy, replicas or labels alone replaces no pod). The one place this
 * is decided, for a whole-app apply and for a one-service write alike.
 */
export function startsRollout(app: string, service: string, live: LiveWorkload, next: KubeObject): boolean {
  if (live.kind !== next.kind) return true;
  const liveSpec = readSpec(live.workload);
  if (!liveSpec) return true;
  return template(renderService(app, service, liveSpec, readContext(live.workload)).workload.object) !== template(next);
}

/** The Berth spec a workload was applied with, or a Conflict naming what to do when it cannot be read. */
export function appliedSpec(ref: ServiceRef, workload: Workload): ServiceSpec {
  const spec = readSpec(workload);
  if (!spec) {
    throw new DriverError(
      DriverErrorCode.Conflict,
      `service "${ref.service}" of app "${ref.app}" has no readable berth.io/spec annotation (edited outside Berth?); apply the app again`,
    );
  }
  return spec;
}

/**
 * Berth's rollout-failure controller on Kubernetes. Kubernetes itself only stops a stuck
 * Deployment; failureAction (rollback, pause) and maxFailureRatio are Berth's, enforced here while a
 * rollout is followed, from state kept in the workload's annotations, so that whichever gateway
 * follows (or follows again after a restart) decides and acts the same way.
 */
export class RolloutFailureController {
  constructor(
    private readonly client: KubernetesClient,
    private readonly snapshot: (ref: ServiceRef) => Promise<WorkloadSnapshot>,
  ) {}

  /**
   * Carries out a failed rollout's failure action. The write is conditional on the workload's
   * resourceVersion, so when two followers see the same failure only one acts; the other re-reads.
   */
  private async actOnFailure(ref: ServiceRef, snap: WorkloadSnapshot, assessment: RolloutAssessment): Promise<RolloutStatus> {
    const w = snap.workload;
    const spec = appliedSpec(ref, w);
    const state = readState(w);
    const ctx = readContext(w);
    const record = state.rollout ?? { reason: 'apply' as const, startedAt: iso(w.metadata?.creationTimestamp) ?? new Date().toISOString() };
    const failure = assessment.failure ?? 'the rollout failed';
    const rollback = assessment.action === 'rollback' && state.previousSpec !== undefined;
    const message = rollback
      ? `rollout of ${ref.service} failed: ${failure}; rolled back to the previous spec`
      : `rollout of ${ref.service} paused: ${failure}`;
    // A rollback re-applies the previous spec (rolled with its rollback policy) and keeps the failed
    // one as "previous"; a pause re-applies the same spec, halted.
    const target = rollback ? state.previousSpec! : spec;
    const next: WorkloadState = rollback
      ? { previousSpec: spec, rollout: { reason: 'auto-rollback', startedAt: new Date().toISOString(), message } }
      : { ...state, paused: true, rollout: { ...record, outcome: 'paused', message } };
    const result: RolloutStatus = { ...assessment.status, state: rollback ? 'rolling-back' : 'paused', message };
    const render = renderService(ref.app, ref.service, target, ctx, next);
    const object = { ...render.workload.object, metadata: { ...render.workload.object.metadata, resourceVersion: w.metadata?.resourceVersion } };
    try {
      await this.client.apply(object);
    } catch (e) {
      // Someone else (another follower, a new update) changed the workload first: the next poll
      // judges it afresh, acting again only if it still has to.
      if (isDriverError(e, DriverErrorCode.Conflict))
        return { ...assessment.status, state: 'progressing', message: 'the service changed while Berth acted on its failed rollout; reading it again' };
      throw e;
    }
    if (rollback && snap.kind === 'StatefulSet') await this.unstickStatefulSet(ref, snap);
    return result;
  }

  /**
   * A StatefulSet does not replace a pod of the failed revision that never became ready (it waits
   * for it forever, kubernetes#67250); deleting those pods lets it recreate them from the restored
   * template.
   */
  private async unstickStatefulSet(ref: ServiceRef, snap: WorkloadSnapshot): Promise<void> {
    const failedRevision = (snap.workload.status as { updateRevision?: string } | undefined)?.updateRevision;
    const stuck = snap.pods.filter(
      (p) =>
        p.metadata?.labels?.['controller-revision-hash'] === failedRevision && !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    for (const pod of stuck) await this.client.remove({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata?.name ?? '', namespace: ref.app } });
  }

  /**
   * Watches `path` (a namespaced collection, filtered to one service) and rings `wakeup` on every
   * notification, until `signal` aborts. A watch the server ends is started again from the last
   * resourceVersion seen; a broken one after a pause, while the follower's timed reads go on.
   */
  private async watchInto(path: string, labelSelector: string, wakeup: Wakeup, signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        for await (const n of this.client.watch(path, { labelSelector, allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) }, signal)) {
          resourceVersion = (n.object as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion ?? resourceVersion;
          if (n.type !== 'BOOKMARK') wakeup.ring();
        }
        // a watch that ends at once (the client closed) is not started again in a tight loop
        if (Date.now() - started < WATCH_RETRY_MS) await sleep(WATCH_RETRY_MS, undefined, { signal }).catch(() => undefined);
      } catch (e) {
        resourceVersion = undefined;
        if (!(e instanceof ResourceVersionGone)) await sleep(WATCH_RETRY_MS, undefined, { signal }).catch(() => undefined);
        wakeup.ring();
      }
    }
  }

  /**
   * Follows the rollout to a terminal state, acting on a failure as the policy says. Each state is
   * read afresh from the API server; a watch of the workload says when to read again, so that a
   * change of its status (more replicas ready or updated, the controller's "complete", a deadline)
   * is seen within a read's time. The workload's controller writes its status after each change of
   * its pods, so the pods are not watched: what only they show (a replica that fails) is read on the
   * timed polls of pollUntil, which also stay underneath for a watch that breaks or misses a change.
   */
  async *follow(ref: ServiceRef, options: FollowOptions = {}): AsyncGenerator<RolloutStatus> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const wakeup = new Wakeup();
    const selector = `${LABEL.managedBy}=${MANAGER},${LABEL.service}=${ref.service}`;
    let watched: { kind: WorkloadKind; stop: AbortController } | undefined;
    const watch = (kind: WorkloadKind) => {
      if (watched?.kind === kind || stop.signal.aborted) return;
      watched?.stop.abort();
      watched = { kind, stop: new AbortController() };
      const signal = AbortSignal.any([stop.signal, watched.stop.signal]);
      void this.watchInto(`/apis/apps/v1/namespaces/${ref.app}/${WORKLOAD_PATH[kind]}`, selector, wakeup, signal);
    };
    // StatefulSets and DaemonSets have no progress deadline of their own: the follower times stalls.
    let lastProgress = '';
    let lastProgressAt = Date.now();
    let recheck: number | undefined;
    const read = async (): Promise<RolloutStatus> => {
      const snap = await this.snapshot(ref);
      watch(snap.kind);
      // progress is the workload's status or any of its pods moving on (scheduled, volume bound, pulling,
      // started): a first stateful replica can wait on its claim and its image for longer than the deadline
      // while the StatefulSet's status stays the same
      const progress = JSON.stringify([
        snap.workload.metadata?.generation,
        snap.workload.status,
        snap.pods.map((p) => [
          p.metadata?.name,
          p.status?.phase,
          p.status?.conditions?.map((c) => `${c.type}=${c.status}`),
          p.status?.containerStatuses?.map((c) => Object.keys(c.state ?? {})),
        ]),
      ]);
      if (progress !== lastProgress) {
        lastProgress = progress;
        lastProgressAt = Date.now();
      }
      const assessment = assessRollout(snap, Date.now() - lastProgressAt);
      recheck = assessment.recheckInMs;
      return assessment.action ? this.actOnFailure(ref, snap, assessment) : assessment.status;
    };
    try {
      yield* pollUntil(read, (s) => TERMINAL_ROLLOUT_STATES.has(s.state), {
        ...(options.signal ? { signal: options.signal } : {}),
        intervalMs: options.pollIntervalMs ?? 1000,
        wakeup,
        minGapMs: READ_GAP_MS,
        recheckInMs: () => recheck,
      });
    } finally {
      stop.abort();
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}
