import { LABEL, rolloutBatches, type RolloutState, type RolloutStatus, type ServiceStatus } from '@berth/driver';
import type { EngineService, EngineTask } from './swarm-engine.types.js';
import { rolloutFrom, serviceStatusFrom, type ClusterView } from './swarm-status.mapper.js';

/** The member ordinal an engine service stands for, when it is one member of a stateful service. */
export function memberOrdinal(service: EngineService): number | undefined {
  const text = service.Spec.Labels[LABEL.member];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

export const byOrdinal = (a: EngineService, b: EngineService): number => (memberOrdinal(a) ?? 0) - (memberOrdinal(b) ?? 0);

/** A member-by-member rollout Berth drives itself (the engine rolls each one-replica member). */
export interface MemberRollout {
  state: RolloutState;
  message?: string;
  failed: number;
  done: number;
  total: number;
  startedAt: string;
  completedAt?: string;
}

/** Most pressing first: what a person should see when members disagree. */
const PRIORITY: RolloutState[] = ['failed', 'rolling-back', 'paused', 'rolled-back', 'progressing', 'completed', 'none'];

/** The rollout of a member set: Berth's own while it drives one, else what the members' engines report. */
export function memberRolloutFrom(members: EngineService[], tasks: ReadonlyMap<string, EngineTask[]>, driven?: MemberRollout): RolloutStatus {
  const each = members.map((m) => rolloutFrom(m, tasks.get(m.ID) ?? []));
  const replicas = each.reduce(
    (sum, r) => ({
      desired: sum.desired + r.replicas.desired,
      running: sum.running + r.replicas.running,
      ready: sum.ready + r.replicas.ready,
      updated: sum.updated + r.replicas.updated,
    }),
    { desired: 0, running: 0, ready: 0, updated: 0 },
  );
  if (driven) {
    return {
      state: driven.state,
      ...(driven.message ? { message: driven.message } : {}),
      replicas,
      failed: driven.failed,
      batches: { done: driven.done, total: driven.total },
      startedAt: driven.startedAt,
      ...(driven.completedAt ? { completedAt: driven.completedAt } : {}),
    };
  }
  const hashes = new Set(members.map((m) => m.Spec.Labels[LABEL.specHash]));
  let state = PRIORITY.find((s) => each.some((r) => r.state === s)) ?? 'none';
  let message = each.find((r) => r.state === state)?.message;
  if (hashes.size > 1 && state === 'completed') {
    // a rollout Berth drove was cut short (the gateway stopped): apply again to finish it
    state = 'paused';
    message = 'members run different specs (an interrupted member-by-member rollout): apply the service again to finish it';
  }
  const started = each.map((r) => r.startedAt ?? '').sort()[0];
  const completed = each
    .map((r) => r.completedAt ?? '')
    .sort()
    .pop();
  return {
    state,
    ...(message ? { message } : {}),
    replicas,
    failed: each.reduce((n, r) => n + r.failed, 0),
    batches: rolloutBatches(1, replicas.desired, replicas.updated, state === 'completed'),
    ...(started ? { startedAt: started } : {}),
    ...(state === 'completed' && completed ? { completedAt: completed } : {}),
  };
}

/** The members of one stateful service presented as the one Berth service they are. */
export function memberSetStatus(members: EngineService[], tasks: ReadonlyMap<string, EngineTask[]>, view: ClusterView, driven?: MemberRollout): ServiceStatus {
  const sorted = [...members].sort(byOrdinal);
  const each = sorted.map((m) => ({ m, status: serviceStatusFrom(m, tasks.get(m.ID) ?? [], view) }));
  const first = each[0]!.status;
  const rollout = memberRolloutFrom(sorted, tasks, driven);
  const updatedAt = each
    .map((e) => e.status.updatedAt ?? '')
    .sort()
    .pop();
  return {
    ...first,
    stateful: true,
    replicas: { ...rollout.replicas, desired: first.spec?.replicas ?? sorted.length },
    discovery: {
      dnsName: first.service,
      aliases: each.flatMap(({ m }) => {
        const aliases = m.Spec.TaskTemplate.Networks?.[0]?.Aliases ?? [];
        return [...aliases.filter((a) => a !== first.service), `tasks.${m.Spec.Name}`, m.Spec.Name];
      }),
      virtualIps: each.flatMap((e) => e.status.discovery.virtualIps),
      ports: first.discovery.ports,
      endpoints: each.flatMap(({ m, status }) => status.discovery.endpoints.map((e) => ({ ...e, replica: String(memberOrdinal(m) ?? e.replica) }))),
    },
    rollout,
    ...(updatedAt ? { updatedAt } : {}),
  };
}
