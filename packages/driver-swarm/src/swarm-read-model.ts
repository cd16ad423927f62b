import { setTimeout as sleep } from 'node:timers/promises';
import { DriverErrorCode, LABEL, isDriverError, type ReadGate, type ServiceRef } from '@berth/driver';
import { textLines } from './docker-stream.js';
import type { SwarmEngine } from './swarm-engine.client.js';
import type { EngineEvent, EngineService, EngineTask, EngineTaskState, EngineVolume } from './swarm-engine.types.js';
import { toDriverError } from './swarm-errors.js';
import { SWARM_LABEL } from './swarm-spec.mapper.js';
import { groupTasks, isJob, membersAmong, type SwarmSource, type TasksById } from './swarm-source.js';
import { parseEngineEvent, sinceParam, type ClusterView } from './swarm-status.mapper.js';

export interface SwarmReadModelOptions {
  /** How often everything is listed again while the event stream stays connected (default 60 s). */
  resyncMs?: number;
  /** How long after a write its app's reads still go to the engine (ReadGate, default 2 s). */
  writeWindowMs?: number;
}

export const DEFAULT_RESYNC_MS = 60_000;
/** Events come in bursts (one update: a service event, then container events per task): fetched together. */
const DEBOUNCE_MS = 30;
/** Tasks on other nodes make no events here: a converging service's tasks are polled. */
const CONVERGE_POLL_MS = 300;
/** ... and, once it has converged for this long without settling (a crash loop, no node fits), less often. */
const SLOW_CONVERGE_AFTER_MS = 30_000;
const SLOW_CONVERGE_POLL_MS = 2_000;
const RETRY_MS = 1_000;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/** The events the read model follows (networks, secrets, configs, plugins and images are of no read it serves). */
const EVENT_FILTERS = { type: ['service', 'node', 'container', 'volume'] };

const TERMINAL: ReadonlySet<EngineTaskState> = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

/** What the mapping reads of a service: the previous spec, the endpoint's spec copy are dropped. */
function keptService(s: EngineService): EngineService {
  return {
    ID: s.ID,
    Version: s.Version,
    ...(s.CreatedAt ? { CreatedAt: s.CreatedAt } : {}),
    ...(s.UpdatedAt ? { UpdatedAt: s.UpdatedAt } : {}),
    Spec: s.Spec,
    ...(s.Endpoint
      ? { Endpoint: { ...(s.Endpoint.Ports ? { Ports: s.Endpoint.Ports } : {}), ...(s.Endpoint.VirtualIPs ? { VirtualIPs: s.Endpoint.VirtualIPs } : {}) } }
      : {}),
    ...(s.UpdateStatus ? { UpdateStatus: s.UpdateStatus } : {}),
    ...(s.ServiceStatus ? { ServiceStatus: s.ServiceStatus } : {}),
  };
}

/** What the mapping reads of a task: each network attachment otherwise carries the whole network object. */
export function keptTask(t: EngineTask): EngineTask {
  const { Version: _version, NetworksAttachments, ...rest } = t;
  const kept: EngineTask = {
    ID: rest.ID,
    ...(rest.CreatedAt ? { CreatedAt: rest.CreatedAt } : {}),
    ...(rest.UpdatedAt ? { UpdatedAt: rest.UpdatedAt } : {}),
    Spec: rest.Spec,
    ServiceID: rest.ServiceID,
    ...(rest.Slot !== undefined ? { Slot: rest.Slot } : {}),
    ...(rest.NodeID ? { NodeID: rest.NodeID } : {}),
    Status: rest.Status,
    DesiredState: rest.DesiredState,
  };
  if (NetworksAttachments)
    kept.NetworksAttachments = NetworksAttachments.map((a) => ({ Network: { ID: a.Network.ID }, ...(a.Addresses ? { Addresses: a.Addresses } : {}) }));
  return kept;
}

function keptVolume(v: EngineVolume): EngineVolume {
  return { Name: v.Name, Driver: v.Driver, Labels: v.Labels, ...(v.CreatedAt ? { CreatedAt: v.CreatedAt } : {}) };
}

/** Changes when anything the mapping reads may have changed (every engine write bumps an object's version). */
function signature(s: EngineService, tasks: EngineTask[] | undefined): string {
  return `${s.Version.Index}/${s.ServiceStatus?.DesiredTasks ?? ''}/${(tasks ?? []).map((t) => `${t.ID}@${t.Version?.Index ?? `${t.Status.State}:${t.DesiredState}`}`).join(',')}`;
}

/** A service whose tasks are still moving towards what the engine wants of them (its tasks are polled meanwhile). */
export function converging(s: EngineService, tasks: EngineTask[]): boolean {
  const update = s.UpdateStatus?.State;
  if (update === 'updating' || update === 'rollback_started') return true;
  let wanted = 0;
  for (const t of tasks) {
    if (t.DesiredState === 'running') wanted++;
    if (t.Status.State !== t.DesiredState && !(TERMINAL.has(t.Status.State) && TERMINAL.has(t.DesiredState))) return true;
  }
  const replicas = s.Spec.Mode.Replicated?.Replicas ?? s.ServiceStatus?.DesiredTasks;
  return replicas !== undefined && wanted !== replicas;
}

const serviceKey = (app: string, service: string): string => `${app}\u0000${service}`;
const keyOf = (s: EngineService): string => serviceKey(s.Spec.Labels[LABEL.app] ?? '', s.Spec.Labels[LABEL.service] ?? s.Spec.Name);
const eventMs = (e: EngineEvent): number => Number(BigInt(e.timeNano) / 1_000_000n);

function add<K, V>(index: Map<string, Map<K, V>>, key: string, id: K, value: V): void {
  const inner = index.get(key);
  if (inner) inner.set(id, value);
  else index.set(key, new Map([[id, value]]));
}

function remove<K, V>(index: Map<string, Map<K, V>>, key: string, id: K): void {
  const inner = index.get(key);
  if (!inner) return;
  inner.delete(id);
  if (!inner.size) index.delete(key);
}

/**
 * The Berth services (jobs included, for listApps), their tasks, the node names and the Berth
 * volumes of one engine, filled by one list of each and kept current by the engine's /events.
 *
 * Swarm sends service, node, network and secret events, and this node's container and volume events,
 * but no task events. So a service event re-reads that service and its tasks, a container event of
 * a service task re-lists that service's tasks, and while a service converges (tasks on other nodes
 * make no events here) its tasks are polled until it settles. Everything is listed again after the
 * stream reconnects and every `resyncMs`.
 */
export class SwarmReadModel implements SwarmSource {
  private services = new Map<string, EngineService>();
  /** app -> service ID -> service. */
  private byApp = new Map<string, Map<string, EngineService>>();
  /** app + Berth service name -> service ID -> service (a stateful service has several members). */
  private byService = new Map<string, Map<string, EngineService>>();
  private byName = new Map<string, string>();
  private tasksOf = new Map<string, EngineTask[]>();
  private signatures = new Map<string, string>();
  private nodeNames = new Map<string, string>();
  private volumesByName = new Map<string, EngineVolume>();
  private volumesByApp = new Map<string, Map<string, EngineVolume>>();
  private node?: string;

  /** When each service was last read from the engine. */
  private fetchedAt = new Map<string, number>();
  /** Services (by ID) and volumes (by name) an event said changed, with the time of the first such event not yet fetched. */
  private dirtyServices = new Map<string, number>();
  private dirtyTasks = new Map<string, number>();
  private dirtyVolumes = new Map<string, number>();
  private dirtyNodes = false;
  /** Being fetched now, with the time their events came. */
  private inFlight = new Map<string, number>();
  private volumesInFlight = new Map<string, number>();
  /** Converging services, since when. */
  private convergingSince = new Map<string, number>();

  private timer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private polls = 0;
  private flushing?: Promise<void>;
  private syncing?: Promise<void>;
  private connected = false;
  private lastEvent?: string;
  private readonly stopping = new AbortController();
  private stream?: AbortController;
  private readonly resyncMs: number;

  constructor(
    private readonly engine: SwarmEngine,
    private readonly gate: ReadGate,
    options: SwarmReadModelOptions = {},
  ) {
    this.resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopping.abort();
    clearTimeout(this.timer);
    clearTimeout(this.pollTimer);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Objects held, by native kind. */
  counts(): Record<string, number> {
    let tasks = 0;
    for (const list of this.tasksOf.values()) tasks += list.length;
    return { services: this.services.size, tasks, nodes: this.nodeNames.size, volumes: this.volumesByName.size };
  }

  // ------------------------------------------------------------------ the stream

  /** Connects the event stream, lists everything, follows the stream; again after it breaks. */
  private async run(): Promise<void> {
    let wait = RECONNECT_MIN_MS;
    while (!this.stopped) {
      const abort = new AbortController();
      this.stream = abort;
      const signal = AbortSignal.any([abort.signal, this.stopping.signal]);
      let resync: NodeJS.Timeout | undefined;
      try {
        // connected first, so that nothing that changes during the lists is missed
        const body = await this.engine.events({ ...(this.lastEvent ? { since: sinceParam(this.lastEvent) } : {}), filters: EVENT_FILTERS, signal });
        this.connected = true;
        const reading = this.follow(body);
        reading.catch(() => undefined);
        await this.resync();
        wait = RECONNECT_MIN_MS;
        resync = setInterval(() => {
          this.resync().catch((err: unknown) => {
            // the engine did not answer the lists: start over, stream included
            this.gate.lost(`resync failed: ${toDriverError(err).message}`);
            abort.abort();
          });
        }, this.resyncMs);
        await reading;
        throw new Error('the engine ended the event stream');
      } catch (err) {
        if (this.stopped) return;
        this.connected = false;
        this.gate.lost(`event stream: ${abort.signal.aborted ? 'aborted' : toDriverError(err).message}`);
      } finally {
        clearInterval(resync);
        abort.abort();
      }
      await sleep(wait, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      wait = Math.min(wait * 2, RECONNECT_MAX_MS);
    }
  }

  private async follow(body: AsyncIterable<Buffer>): Promise<void> {
    try {
      for await (const line of textLines(body)) {
        const event = parseEngineEvent(line);
        if (event) this.onEvent(event);
      }
    } finally {
      // reads go to the engine from the moment the stream is gone, not after the reconnect wait
      if (this.connected && !this.stopped) this.gate.lost('the event stream broke');
      this.connected = false;
    }
  }

  private onEvent(e: EngineEvent): void {
    this.lastEvent = e.timeNano;
    const at = eventMs(e);
    const mark = (dirty: Map<string, number>, id: string) => {
      if (!dirty.has(id)) dirty.set(id, at);
    };
    const attrs = e.Actor.Attributes ?? {};
    switch (e.Type) {
      case 'service':
        mark(this.dirtyServices, e.Actor.ID);
        break;
      case 'container': {
        const id = attrs[SWARM_LABEL.serviceId];
        if (!id || !(this.services.has(id) || this.dirtyServices.has(id) || this.inFlight.has(id))) return;
        if (this.services.get(id) && isJob(this.services.get(id)!)) return;
        mark(this.dirtyTasks, id);
        break;
      }
      case 'node':
        this.dirtyNodes = true;
        break;
      case 'volume':
        if (e.Action !== 'create' && e.Action !== 'destroy') return;
        mark(this.dirtyVolumes, e.Actor.ID);
        break;
      default:
        return;
    }
    this.schedule();
  }

  // ------------------------------------------------------------------ fetching

  private schedule(delay = DEBOUNCE_MS): void {
    if (this.timer || this.syncing || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
  }

  private get dirty(): boolean {
    return this.dirtyServices.size > 0 || this.dirtyTasks.size > 0 || this.dirtyVolumes.size > 0 || this.dirtyNodes;
  }

  private flush(): Promise<void> {
    if (this.flushing || this.syncing) return this.flushing ?? Promise.resolve();
    this.flushing = this.fetchDirty().finally(() => {
      this.flushing = undefined;
      if (this.dirty) this.schedule();
    });
    return this.flushing;
  }

  private async fetchDirty(): Promise<void> {
    const services = new Map(this.dirtyServices);
    const tasks = new Map([...this.dirtyTasks].filter(([id]) => !services.has(id)));
    const volumes = new Map(this.dirtyVolumes);
    const nodes = this.dirtyNodes;
    this.dirtyServices.clear();
    this.dirtyTasks.clear();
    this.dirtyVolumes.clear();
    this.dirtyNodes = false;
    for (const [id, at] of [...services, ...tasks]) this.inFlight.set(id, at);
    for (const [name, at] of volumes) this.volumesInFlight.set(name, at);
    const started = Date.now();
    const failed = (what: Map<string, number>, into: Map<string, number>) => (err: unknown) => {
      if (this.stopped) return;
      for (const [id, at] of what) if (!into.has(id)) into.set(id, at);
      void err;
      setTimeout(() => this.schedule(), RETRY_MS).unref();
    };
    await Promise.all([
      services.size ? this.fetchServices([...services.keys()], started).catch(failed(services, this.dirtyServices)) : undefined,
      tasks.size ? this.fetchTasks([...tasks.keys()], started).catch(failed(tasks, this.dirtyTasks)) : undefined,
      volumes.size ? this.fetchVolumes([...volumes.keys()]).catch(failed(volumes, this.dirtyVolumes)) : undefined,
      nodes
        ? this.fetchNodes().catch(() => {
            this.dirtyNodes = true;
            setTimeout(() => this.schedule(), RETRY_MS).unref();
          })
        : undefined,
    ]);
    for (const id of [...services.keys(), ...tasks.keys()]) this.inFlight.delete(id);
    for (const name of volumes.keys()) this.volumesInFlight.delete(name);
  }

  /** The tasks of some services; a service removed meanwhile has none. */
  private async listTasks(ids: string[]): Promise<Map<string, EngineTask[]>> {
    if (!ids.length) return new Map();
    try {
      return groupTasks(await this.engine.listTasks({ service: ids }));
    } catch (err) {
      if (!isDriverError(err, DriverErrorCode.NotFound) || ids.length === 1) {
        if (isDriverError(err, DriverErrorCode.NotFound)) return new Map();
        throw err;
      }
      const each = await Promise.all(ids.map((id) => this.listTasks([id])));
      return new Map(each.flatMap((m) => [...m]));
    }
  }

  private async fetchServices(ids: string[], at: number): Promise<void> {
    const wanted = new Set(ids);
    const listed = (await this.engine.listServices({ id: ids })).filter((s) => wanted.has(s.ID) && LABEL.app in s.Spec.Labels);
    const tasks = await this.listTasks(listed.filter((s) => !isJob(s)).map((s) => s.ID));
    if (this.syncing) return; // the list running now is newer
    const found = new Set<string>();
    for (const s of listed) {
      found.add(s.ID);
      this.put(s, isJob(s) ? undefined : (tasks.get(s.ID) ?? []), at);
    }
    for (const id of ids) if (!found.has(id)) this.drop(id);
  }

  private async fetchTasks(ids: string[], at: number): Promise<void> {
    const known = ids.filter((id) => this.services.has(id));
    const tasks = await this.listTasks(known);
    if (this.syncing) return;
    for (const id of known) {
      const service = this.services.get(id);
      if (service) this.put(service, tasks.get(id) ?? [], at);
    }
  }

  private async fetchVolumes(names: string[]): Promise<void> {
    const read = await Promise.all(
      names.map((name) =>
        this.engine.inspectVolume(name).catch((err: unknown) => {
          if (isDriverError(err, DriverErrorCode.NotFound)) return undefined;
          throw err;
        }),
      ),
    );
    if (this.syncing) return;
    names.forEach((name, i) => {
      const v = read[i];
      if (v && v.Labels?.[LABEL.app]) this.putVolume(v);
      else this.dropVolume(name);
    });
  }

  private async fetchNodes(): Promise<void> {
    const nodes = await this.engine.listNodes();
    if (this.syncing) return;
    const names = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
    if ([...names].join() !== [...this.nodeNames].join()) this.gate.changed();
    this.nodeNames = names;
    // a global service wants one task per eligible node
    const now = Date.now();
    for (const s of this.services.values()) if (s.Spec.Mode.Global && !this.dirtyServices.has(s.ID)) this.dirtyServices.set(s.ID, now);
    if (this.dirty) this.schedule();
  }

  private put(service: EngineService, tasks: EngineTask[] | undefined, at: number): void {
    const sig = signature(service, tasks);
    const s = keptService(service);
    const old = this.services.get(s.ID);
    if (old) this.unindex(old);
    this.services.set(s.ID, s);
    add(this.byApp, s.Spec.Labels[LABEL.app] ?? '', s.ID, s);
    add(this.byService, keyOf(s), s.ID, s);
    this.byName.set(s.Spec.Name, s.ID);
    if (tasks) this.tasksOf.set(s.ID, tasks.map(keptTask));
    else this.tasksOf.delete(s.ID);
    this.fetchedAt.set(s.ID, at);
    if (this.signatures.get(s.ID) !== sig) {
      this.signatures.set(s.ID, sig);
      this.gate.changed();
    }
    if (tasks && converging(s, tasks)) {
      if (!this.convergingSince.has(s.ID)) this.convergingSince.set(s.ID, Date.now());
      this.pollConverging();
    } else this.convergingSince.delete(s.ID);
  }

  private unindex(s: EngineService): void {
    remove(this.byApp, s.Spec.Labels[LABEL.app] ?? '', s.ID);
    remove(this.byService, keyOf(s), s.ID);
    if (this.byName.get(s.Spec.Name) === s.ID) this.byName.delete(s.Spec.Name);
  }

  private drop(id: string): void {
    const old = this.services.get(id);
    if (!old) return;
    this.unindex(old);
    this.services.delete(id);
    this.tasksOf.delete(id);
    this.fetchedAt.delete(id);
    this.signatures.delete(id);
    this.convergingSince.delete(id);
    this.gate.changed();
  }

  private putVolume(volume: EngineVolume): void {
    const v = keptVolume(volume);
    const old = this.volumesByName.get(v.Name);
    if (old) remove(this.volumesByApp, old.Labels?.[LABEL.app] ?? '', old.Name);
    this.volumesByName.set(v.Name, v);
    add(this.volumesByApp, v.Labels?.[LABEL.app] ?? '', v.Name, v);
    if (JSON.stringify(old) !== JSON.stringify(v)) this.gate.changed();
  }

  private dropVolume(name: string): void {
    const old = this.volumesByName.get(name);
    if (!old) return;
    remove(this.volumesByApp, old.Labels?.[LABEL.app] ?? '', name);
    this.volumesByName.delete(name);
    this.gate.changed();
  }

  /** Polls the converging services' tasks (and the services: UpdateStatus, engine-assigned ports) until they settle. */
  private pollConverging(): void {
    if (this.pollTimer || this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      if (!this.convergingSince.size || this.stopped) return;
      const now = Date.now();
      const slowEvery = Math.round(SLOW_CONVERGE_POLL_MS / CONVERGE_POLL_MS);
      this.polls++;
      for (const [id, since] of this.convergingSince) {
        if (now - since > SLOW_CONVERGE_AFTER_MS && this.polls % slowEvery) continue;
        if (!this.dirtyServices.has(id) && !this.inFlight.has(id)) this.dirtyServices.set(id, this.fetchedAt.get(id) ?? now);
      }
      if (this.dirty) this.schedule(0);
      this.pollConverging();
    }, CONVERGE_POLL_MS);
    this.pollTimer.unref();
  }

  /** Lists everything again; cached reads are served once it is done with the stream connected. */
  private resync(): Promise<void> {
    if (this.syncing) return this.syncing;
    clearTimeout(this.timer);
    this.timer = undefined;
    const run = async () => {
      await this.flushing;
      const started = Date.now();
      // every task, not by label: a service that took berth.io/app in an update still runs older tasks
      const [services, tasks, nodes, volumes, info] = await Promise.all([
        this.engine.listServices({ label: [LABEL.app] }),
        this.engine.listTasks({}),
        this.engine.listNodes(),
        this.engine.listVolumes({ label: [LABEL.app] }),
        this.engine.info(),
      ]);
      const byService = groupTasks(tasks);
      const held = new Set(this.services.keys());
      for (const s of services) {
        held.delete(s.ID);
        this.put(s, isJob(s) ? undefined : (byService.get(s.ID) ?? []), started);
      }
      for (const id of held) this.drop(id);
      this.nodeNames = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
      const names = new Set(this.volumesByName.keys());
      for (const v of volumes) {
        names.delete(v.Name);
        this.putVolume(v);
      }
      for (const name of names) this.dropVolume(name);
      this.node = info.Name;
    };
    this.syncing = run().finally(() => {
      this.syncing = undefined;
      if (this.dirty) this.schedule();
    });
    return this.syncing.then(() => {
      if (this.connected && !this.stopped) this.gate.synced();
    });
  }

  // ------------------------------------------------------------------ how current it is

  private pendingAt(id: string): number | undefined {
    return (
      this.dirtyServices.get(id) ?? this.dirtyTasks.get(id) ?? this.inFlight.get(id) ?? (this.convergingSince.has(id) ? this.fetchedAt.get(id) : undefined)
    );
  }

  /**
   * Up to when the services of `app` (every app's, undefined) are known complete: now, unless a
   * fetch for one of them is pending (then the time of the event that asked for it) or one converges
   * (then the time of its last poll). A pending service not held yet may be of any app.
   */
  servicesObservedAt(app?: string): number {
    let at = Date.now();
    const held = app === undefined ? this.services : (this.byApp.get(app) ?? new Map<string, EngineService>());
    for (const id of held.keys()) at = Math.min(at, this.pendingAt(id) ?? at);
    for (const pending of [this.dirtyServices, this.inFlight]) for (const [id, t] of pending) if (!this.services.has(id)) at = Math.min(at, t);
    return at;
  }

  volumesObservedAt(): number {
    let at = Date.now();
    for (const pending of [this.dirtyVolumes, this.volumesInFlight]) for (const t of pending.values()) at = Math.min(at, t);
    return at;
  }

  // ------------------------------------------------------------------ SwarmSource

  async labelledServices(app?: string): Promise<EngineService[]> {
    return [...(app === undefined ? this.services : (this.byApp.get(app) ?? new Map<string, EngineService>())).values()];
  }

  async servicesWithTasks(app?: string): Promise<{ services: EngineService[]; tasks: TasksById }> {
    return { services: (await this.labelledServices(app)).filter((s) => !isJob(s)), tasks: this.tasksOf };
  }

  async members(ref: ServiceRef): Promise<EngineService[]> {
    return membersAmong(this.byService.get(serviceKey(ref.app, ref.service))?.values() ?? [], ref);
  }

  async service(name: string): Promise<EngineService | undefined> {
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.services.get(id);
  }

  async tasks(): Promise<TasksById> {
    return this.tasksOf;
  }

  async view(): Promise<ClusterView> {
    return { nodeNames: this.nodeNames };
  }

  async volumes(app?: string): Promise<{ volumes: EngineVolume[]; node?: string }> {
    const held = app === undefined ? this.volumesByName : (this.volumesByApp.get(app) ?? new Map<string, EngineVolume>());
    return { volumes: [...held.values()], ...(this.node ? { node: this.node } : {}) };
  }
}
