import { LABEL, type ServiceRef } from '@berth/driver';
import type { SwarmEngine } from './swarm-engine.client.js';
import type { EngineService, EngineTask, EngineVolume } from './swarm-engine.types.js';
import { byOrdinal, memberOrdinal } from './swarm-members.js';
import type { ClusterView } from './swarm-status.mapper.js';

export const label = (key: string, value?: string): string => (value === undefined ? key : `${key}=${value}`);
export const isJob = (s: EngineService): boolean => LABEL.job in s.Spec.Labels;

/** Tasks by service ID. */
export type TasksById = ReadonlyMap<string, EngineTask[]>;

/**
 * Where the driver's reads take their native objects from: the engine itself (EngineSource), or the
 * watch-fed read model (SwarmReadModel). The mapping to Berth's shapes is the driver's, the same for both.
 */
export interface SwarmSource {
  /** Every service carrying berth.io/app (of `app`, when given), jobs included. */
  labelledServices(app?: string): Promise<EngineService[]>;
  /** The app's services (every app's, when undefined) but jobs, and all their tasks. */
  servicesWithTasks(app?: string): Promise<{ services: EngineService[]; tasks: TasksById }>;
  /** The member services of a stateful service, in ordinal order (none for any other service). */
  members(ref: ServiceRef): Promise<EngineService[]>;
  /** A service by its exact native name. */
  service(name: string): Promise<EngineService | undefined>;
  /** The tasks of some services. */
  tasks(services: EngineService[]): Promise<TasksById>;
  /** Node names. */
  view(): Promise<ClusterView>;
  /** The Berth volumes (of `app`, when given) on this engine's node, and the node's name. */
  volumes(app?: string): Promise<{ volumes: EngineVolume[]; node?: string }>;
}

/** The members among some services: of `ref`'s app and service, in ordinal order. */
export function membersAmong(services: Iterable<EngineService>, ref: ServiceRef): EngineService[] {
  const members: EngineService[] = [];
  for (const s of services) {
    if (!isJob(s) && memberOrdinal(s) !== undefined && s.Spec.Labels[LABEL.app] === ref.app && s.Spec.Labels[LABEL.service] === ref.service) members.push(s);
  }
  return members.sort(byOrdinal);
}

/** Tasks by the ID of their service. */
export function groupTasks(tasks: EngineTask[]): Map<string, EngineTask[]> {
  const byService = new Map<string, EngineTask[]>();
  for (const t of tasks) {
    const list = byService.get(t.ServiceID);
    if (list) list.push(t);
    else byService.set(t.ServiceID, [t]);
  }
  return byService;
}

/** Reads straight from the engine: what every read did before the read model, and what writes still use. */
export class EngineSource implements SwarmSource {
  constructor(private readonly engine: SwarmEngine) {}

  labelledServices(app?: string): Promise<EngineService[]> {
    return this.engine.listServices({ label: [label(LABEL.app, app)] });
  }

  private async tasksOf(names: string[]): Promise<EngineTask[]> {
    return names.length ? this.engine.listTasks({ service: names }) : [];
  }

  /**
   * One task list by the app label, in parallel with the services: a `service` filter makes the
   * engine look every name up one by one (30 ms for 100 services), a label filter costs about 1 ms.
   * The engine matches it against the service labels a task was created with. Berth's services carry
   * berth.io/app from their creation; one that took it in its last update (a same-named service
   * Berth adopted, or a label added by hand) may still run older tasks, so those are listed by service.
   */
  async servicesWithTasks(app?: string): Promise<{ services: EngineService[]; tasks: TasksById }> {
    const filter = { label: [label(LABEL.app, app)] };
    const [listed, labelled] = await Promise.all([this.engine.listServices(filter), this.engine.listTasks(filter)]);
    const services = listed.filter((s) => !isJob(s));
    if (!services.length) return { services, tasks: new Map() };
    const relabelled = services.filter((s) => s.PreviousSpec && s.PreviousSpec.Labels?.[LABEL.app] !== s.Spec.Labels[LABEL.app]);
    const byName = new Set(relabelled.map((s) => s.ID));
    const tasks = groupTasks([...labelled.filter((t) => !byName.has(t.ServiceID)), ...(await this.tasksOf(relabelled.map((s) => s.Spec.Name)))]);
    return { services, tasks };
  }

  async members(ref: ServiceRef): Promise<EngineService[]> {
    const listed = await this.engine.listServices({ label: [label(LABEL.app, ref.app), label(LABEL.service, ref.service), LABEL.member] });
    return membersAmong(listed, ref);
  }

  service(name: string): Promise<EngineService | undefined> {
    return this.engine.findService(name);
  }

  async tasks(services: EngineService[]): Promise<TasksById> {
    return groupTasks(await this.tasksOf(services.map((s) => s.Spec.Name)));
  }

  async view(): Promise<ClusterView> {
    const nodes = await this.engine.listNodes();
    return { nodeNames: new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID])) };
  }

  /** Volumes are node-local, and this engine lists only its own. */
  async volumes(app?: string): Promise<{ volumes: EngineVolume[]; node?: string }> {
    const [volumes, info] = await Promise.all([this.engine.listVolumes({ label: [label(LABEL.app, app)] }), this.engine.info()]);
    return { volumes, ...(info.Name ? { node: info.Name } : {}) };
  }
}
