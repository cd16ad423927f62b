import { randomBytes } from 'node:crypto';
import {
  DnsLabel,
  VolumeDefinition,
  parseDuration,
  rollbackPolicyOf,
  updatePolicyOf,
  type AppSpec,
  type RollbackPolicy,
  type UpdatePolicy,
  type JobSpec,
  type ServiceSpec,
  type VolumeMount,
} from '@berth/model';
import {
  DriverError,
  DriverErrorCode,
  LABEL,
  TERMINAL_ROLLOUT_STATES,
  fieldChanges,
  isDriverError,
  pollUntil,
  type AppSummary,
  type ApplyResult,
  type ClusterEvent,
  type ClusterHealth,
  type ClusterInfo,
  type DriverWarning,
  type EventOptions,
  type FieldChange,
  type FollowOptions,
  type JobRef,
  type JobStatus,
  type LogLine,
  type LogOptions,
  type OrchestratorDriver,
  type Plan,
  type PlannedObject,
  type RemoveOptions,
  type RolloutStatus,
  type SecretValue,
  type ServiceRef,
  type ServiceStatus,
  type StatsSample,
  type VolumeCreate,
  type VolumeInfo,
  READ_MODEL_OFF,
  ReadGate,
  observed,
  type Observation,
  type ReadModelStatus,
  type ReadOptions,
} from '@berth/driver';
import { demuxFrames, frameLines, parseServiceLogLine, textLines } from './docker-stream.js';
import { SwarmEngine, type SwarmConnection } from './swarm-engine.client.js';
import type { EngineNetwork, EngineService, EngineServiceSpec, EngineTask } from './swarm-engine.types.js';
import { SwarmReadModel, type SwarmReadModelOptions } from './swarm-read-model.js';
import { EngineSource, isJob, label, type SwarmSource } from './swarm-source.js';
import { toDriverError } from './swarm-errors.js';
import {
  DEFAULT_JOB_APP,
  SWARM_LABEL,
  appContextFor,
  appLabels,
  asRollback,
  jobRunName,
  networkName,
  normalizeLiveSpec,
  readAppContext,
  readServiceSpec,
  renderJob,
  renderService,
  secretLabels,
  secretName,
  serviceName,
  undefinedSharedVolumes,
  volumeLabels,
  volumeName,
  type AppContext,
  hasMembers,
  splitNativeName,
  renderMembers,
} from './swarm-spec.mapper.js';
import { memberOrdinal, memberRolloutFrom, memberSetStatus, type MemberRollout } from './swarm-members.js';
import {
  eventFrom,
  jobStatusFrom,
  nodeInfoFrom,
  parseEngineEvent,
  rolloutFrom,
  serviceStatusFrom,
  sinceParam,
  statsFrom,
  volumeInfoFrom,
} from './swarm-status.mapper.js';

/** How long remove() and removeJob() wait for the engine to stop tasks before giving up on the network. */
const CLEANUP_TIMEOUT_MS = 60_000;

/** Labels that record how a spec was produced; a diff of what runs shows meaning, not bookkeeping. */
const BOOKKEEPING_LABELS = [LABEL.spec, LABEL.specHash, SWARM_LABEL.renderHash, SWARM_LABEL.appContext];

function withoutBookkeeping(spec: EngineServiceSpec): EngineServiceSpec {
  const labels = { ...spec.Labels };
  for (const key of BOOKKEEPING_LABELS) delete labels[key];
  return { ...spec, Labels: labels };
}

/** One service of the app, as it would be written and as it runs. */
interface ServicePlan {
  object: PlannedObject;
  /** The member this engine service stands for, in a stateful service (see renderMembers). */
  member?: number;
  rendered?: EngineServiceSpec;
  live?: EngineService;
}

interface AppPlan {
  plan: Plan;
  network?: EngineNetwork;
  services: ServicePlan[];
}

const touchesTasks = (changes: FieldChange[]): boolean => changes.some((c) => c.path.startsWith('TaskTemplate') || c.path.startsWith('EndpointSpec'));

/** The engine's `since` for logs: a duration back from now ("10m"), an RFC 3339 time, or Unix seconds. */
function logSince(since: string): string {
  if (/^\d+(\.\d+)?$/.test(since)) return since;
  const ago = parseDuration(since);
  const ms = ago !== undefined ? Date.now() - ago : Date.parse(since);
  if (Number.isNaN(ms)) {
    throw new DriverError(DriverErrorCode.Invalid, `log "since" must be a duration like "10m", an RFC 3339 time or Unix seconds, got "${since}"`);
  }
  return (ms / 1000).toFixed(3);
}

/**
 * Docker Swarm behind the OrchestratorDriver interface: an app is a stack (services labelled with
 * `com.docker.stack.namespace` on one overlay network `<app>_default`), a job a `replicated-job`
 * service. All state is read back from the engine; the driver keeps none of its own.
 */
export class SwarmDriver implements OrchestratorDriver {
  readonly kind = 'swarm' as const;
  /** Ends every open stream (events, logs, follows) on close(). */
  private readonly closing = new AbortController();
  /** Member-by-member rollouts this driver drives, by `<app>/<service>` (the last one stays for its status). */
  private readonly rollouts = new Map<string, { record: MemberRollout; abort: AbortController }>();

  /** Reads straight from the engine: every read without the read model, and every read of the write path. */
  private readonly direct: SwarmSource & EngineSource;
  private readonly gate?: ReadGate;
  private readonly store?: SwarmReadModel;

  constructor(
    private readonly engine: SwarmEngine,
    options: SwarmDriverOptions = {},
  ) {
    this.direct = new EngineSource(engine);
    if (options.readModel) {
      const settings = options.readModel === true ? {} : options.readModel;
      this.gate = new ReadGate(settings.writeWindowMs !== undefined ? { writeWindowMs: settings.writeWindowMs } : {});
      this.store = new SwarmReadModel(engine, this.gate, settings);
      this.store.start();
    }
  }

  /** Where a read of `app` takes its objects from: the read model when asked for and the gate allows. */
  private from(app: string | undefined, options: ReadOptions | undefined): { source: SwarmSource; store?: SwarmReadModel } {
    if (this.store && this.gate?.serves(app, options)) return { source: this.store, store: this.store };
    return { source: this.direct };
  }

  /** Stamps an answer with where it came from (only with a read model: without one, answers stay as they were). */
  private stamp<T extends { observed?: Observation }>(items: T[], cachedAt?: number): T[] {
    if (!this.gate) return items;
    return observed(items, this.gate.observation(cachedAt !== undefined ? 'cache' : 'orchestrator', cachedAt));
  }

  /** Runs a write of `app` through the gate, so that the app's reads go to the engine while it runs and just after. */
  private write<T>(app: string | undefined, run: () => Promise<T>): Promise<T> {
    return this.gate ? this.gate.write(app, run) : run();
  }

  private signal(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
  }

  // ------------------------------------------------------------------ cluster

  async info(): Promise<ClusterInfo> {
    const [version, nodes] = await Promise.all([this.engine.version(), this.engine.listNodes()]);
    return { kind: 'swarm', version: version.Version, apiVersion: version.ApiVersion, nodes: nodes.map(nodeInfoFrom) };
  }

  async health(): Promise<ClusterHealth> {
    const started = performance.now();
    try {
      const info = await this.engine.info();
      const latencyMs = Math.round(performance.now() - started);
      if (info.Swarm?.LocalNodeState !== 'active') {
        return {
          status: 'degraded',
          message: `the engine is not in a swarm (state "${info.Swarm?.LocalNodeState ?? 'unknown'}"): run \`docker swarm init\``,
          latencyMs,
        };
      }
      if (!info.Swarm.ControlAvailable) {
        return { status: 'degraded', message: 'the engine is a swarm worker: point Berth at a manager node', latencyMs };
      }
      return { status: 'healthy', latencyMs };
    } catch (err) {
      const e = toDriverError(err);
      const unreachable = e.code === DriverErrorCode.Unreachable || e.code === DriverErrorCode.Timeout;
      return { status: unreachable ? 'unreachable' : 'degraded', message: e.message };
    }
  }

  private async findNetwork(name: string): Promise<EngineNetwork | undefined> {
    return (await this.engine.listNetworks({ name: [name] })).find((n) => n.Name === name);
  }

  private async ensureNetwork(app: string, labels: Record<string, string> = {}): Promise<void> {
    const name = networkName(app);
    if (await this.findNetwork(name)) return;
    try {
      await this.engine.createOverlayNetwork(name, { ...labels, ...appLabels(app) });
    } catch (err) {
      // another apply created it meanwhile
      if (!(isDriverError(err, DriverErrorCode.Conflict) && (await this.findNetwork(name)))) throw err;
    }
  }

  // ------------------------------------------------------------------ apps

  private async planApp(spec: AppSpec): Promise<AppPlan> {
    const app = spec.name;
    const [network, live] = await Promise.all([
      this.findNetwork(networkName(app)),
      // by name prefix, so that a same-named service Berth did not create is updated rather than duplicated
      this.engine.listServices({ name: [`${app}_`] }),
    ]);
    const liveByName = new Map(live.filter((s) => !isJob(s)).map((s) => [s.Spec.Name, s]));
    const networkNames = new Map(network ? [[network.Id, network.Name]] : []);
    const warnings: DriverWarning[] = [];
    const services: ServicePlan[] = [];

    for (const [name, svc] of Object.entries(spec.services)) {
      const ctx = appContextFor(spec, svc);
      const all = hasMembers(svc) ? renderMembers(app, name, svc, ctx) : [renderService(app, name, svc, ctx)];
      all.forEach((rendered, i) => {
        const member = hasMembers(svc) ? i : undefined;
        warnings.push(...rendered.warnings);
        const current = liveByName.get(rendered.spec.Name);
        liveByName.delete(rendered.spec.Name);
        const base = { kind: 'service', name: rendered.spec.Name, service: name };
        if (!current) {
          services.push({
            member,
            rendered: rendered.spec,
            object: { ...base, action: 'create', changes: fieldChanges(undefined, rendered.spec), object: rendered.spec },
          });
        } else if (current.Spec.Labels[SWARM_LABEL.renderHash] === rendered.spec.Labels[SWARM_LABEL.renderHash]) {
          services.push({ member, live: current, object: { ...base, action: 'unchanged', changes: [] } });
        } else {
          const changes = fieldChanges(withoutBookkeeping(normalizeLiveSpec(current.Spec, networkNames)), withoutBookkeeping(rendered.spec));
          services.push({ member, live: current, rendered: rendered.spec, object: { ...base, action: 'update', changes, object: rendered.spec } });
        }
      });
    }
    for (const [name, current] of liveByName) {
      // only what Berth manages is removed; a foreign service that merely shares the prefix stays
      if (current.Spec.Labels[LABEL.app] !== app) continue;
      services.push({ live: current, object: { action: 'delete', kind: 'service', name, service: current.Spec.Labels[LABEL.service] ?? name, changes: [] } });
    }

    const networkObject: PlannedObject = network
      ? { action: 'unchanged', kind: 'network', name: network.Name, changes: [] }
      : {
          action: 'create',
          kind: 'network',
          name: networkName(app),
          changes: [],
          object: { Name: networkName(app), Driver: 'overlay', Attachable: true, Labels: { ...spec.labels, ...appLabels(app) } },
        };
    const objects = [networkObject, ...services.map((s) => s.object)];
    return {
      plan: { app, changed: objects.some((o) => o.action !== 'unchanged'), objects, warnings },
      ...(network ? { network } : {}),
      services,
    };
  }

  async plan(spec: AppSpec): Promise<Plan> {
    return (await this.planApp(spec)).plan;
  }

  apply(spec: AppSpec): Promise<ApplyResult> {
    return this.write(spec.name, () => this.applyNow(spec));
  }

  private async applyNow(spec: AppSpec): Promise<ApplyResult> {
    const { plan, network, services } = await this.planApp(spec);
    if (!network) await this.ensureNetwork(spec.name, spec.labels);
    const rollingServices: string[] = [];
    // read once for the whole apply, and only when a service mounts a secret
    let ids: Promise<Map<string, string>> | undefined;
    const secretIds = () => (ids ??= this.secretIds(spec.name));
    const memberSets = new Map<string, ServicePlan[]>();
    for (const step of services) {
      const name = step.object.service ?? step.object.name;
      if (step.member !== undefined || (step.object.action === 'delete' && step.live && memberOrdinal(step.live) !== undefined)) {
        memberSets.set(name, [...(memberSets.get(name) ?? []), step]);
      }
    }
    for (const [name, steps] of memberSets) {
      if (await this.writeMembers(spec.name, name, steps, updatePolicyOf(spec.services[name] ?? { update: undefined }), secretIds)) rollingServices.push(name);
    }
    for (const { object, rendered, live, member } of services) {
      const name = object.service ?? object.name;
      if (memberSets.has(name) && (member !== undefined || (live && memberOrdinal(live) !== undefined))) continue;
      if (object.action === 'create' && rendered) {
        await this.engine.createService(await this.withSecretIds(rendered, secretIds));
        rollingServices.push(name);
      } else if (object.action === 'update' && rendered && live) {
        await this.engine.updateService(live.ID, live.Version.Index, await this.withSecretIds(rendered, secretIds));
        if (touchesTasks(object.changes)) rollingServices.push(name);
      } else if (object.action === 'delete' && live) {
        await this.removeServiceIfPresent(live);
      }
    }
    return { ...plan, rollingServices };
  }

  // ------------------------------------------------------------------ stateful members

  /** The member services of a stateful service, in ordinal order (none for any other service). */
  private findMembers(ref: ServiceRef): Promise<EngineService[]> {
    return this.direct.members(ref);
  }

  /** What writing `rendered` over the live members of one service does, member by member. */
  private async memberSteps(app: string, name: string, live: EngineService[], rendered: EngineServiceSpec[]): Promise<ServicePlan[]> {
    const network = await this.findNetwork(networkName(app));
    const networkNames = new Map(network ? [[network.Id, network.Name]] : []);
    const byName = new Map(live.map((s) => [s.Spec.Name, s]));
    const steps: ServicePlan[] = rendered.map((spec, member) => {
      const current = byName.get(spec.Name);
      byName.delete(spec.Name);
      const base = { kind: 'service', name: spec.Name, service: name };
      if (!current) return { member, rendered: spec, object: { ...base, action: 'create', changes: fieldChanges(undefined, spec), object: spec } };
      if (current.Spec.Labels[SWARM_LABEL.renderHash] === spec.Labels[SWARM_LABEL.renderHash])
        return { member, live: current, object: { ...base, action: 'unchanged', changes: [] } };
      const changes = fieldChanges(withoutBookkeeping(normalizeLiveSpec(current.Spec, networkNames)), withoutBookkeeping(spec));
      return { member, live: current, rendered: spec, object: { ...base, action: 'update', changes, object: spec } };
    });
    for (const [native, current] of byName)
      steps.push({ live: current, object: { action: 'delete', kind: 'service', name: native, service: name, changes: [] } });
    return steps;
  }

  /**
   * Writes a stateful service's members: new members all at once (a forming cluster needs all of
   * them), members beyond the replica count removed (their volumes stay), label-only changes
   * directly, and changes to what runs member by member in ordinal order (startMemberRollout).
   * Answers whether a rollout started.
   */
  private async writeMembers(
    app: string,
    name: string,
    steps: ServicePlan[],
    policy: UpdatePolicy | RollbackPolicy,
    secretIds: () => Promise<Map<string, string>>,
  ): Promise<boolean> {
    const rolling: { live: EngineService; rendered: EngineServiceSpec }[] = [];
    let created = false;
    for (const { object, rendered, live } of steps) {
      if (object.action === 'create' && rendered) {
        await this.engine.createService(await this.withSecretIds(rendered, secretIds));
        created = true;
      } else if (object.action === 'update' && rendered && live) {
        if (touchesTasks(object.changes)) rolling.push({ live, rendered });
        else await this.engine.updateService(live.ID, live.Version.Index, await this.withSecretIds(rendered, secretIds));
      }
    }
    for (const { object, live } of [...steps].reverse()) if (object.action === 'delete' && live) await this.removeServiceIfPresent(live);
    if (rolling.length) this.startMemberRollout(app, name, rolling, policy, secretIds);
    return created || rolling.length > 0;
  }

  private startMemberRollout(
    app: string,
    name: string,
    steps: { live: EngineService; rendered: EngineServiceSpec }[],
    policy: UpdatePolicy | RollbackPolicy,
    secretIds: () => Promise<Map<string, string>>,
  ): void {
    const key = `${app}/${name}`;
    this.rollouts.get(key)?.abort.abort();
    const abort = new AbortController();
    const parallelism = policy.parallelism || steps.length;
    const record: MemberRollout = {
      state: 'progressing',
      failed: 0,
      done: 0,
      total: Math.ceil(steps.length / parallelism),
      startedAt: new Date().toISOString(),
    };
    this.rollouts.set(key, { record, abort });
    const signal = this.signal(abort.signal);
    void this.rollMembers(steps, policy, parallelism, record, signal, secretIds)
      .catch((err: unknown) => {
        if (signal.aborted) return;
        record.state = 'failed';
        record.message = `member-by-member rollout stopped: ${toDriverError(err).message}`;
      })
      .finally(() => {
        if (record.state !== 'progressing' && record.state !== 'rolling-back') record.completedAt ??= new Date().toISOString();
      });
  }

  /** Writes one member's spec over whatever version it has now. */
  private async writeMember(native: string, spec: EngineServiceSpec, secretIds: () => Promise<Map<string, string>>): Promise<void> {
    const current = await this.engine.findService(native);
    if (!current) throw DriverError.notFound(`member service "${native}"`);
    await this.engine.updateService(current.ID, current.Version.Index, await this.withSecretIds(spec, secretIds));
  }

  /** Waits until the engine has rolled one member (it runs the new spec, healthy, past the monitor period) or gave up on it. */
  private async awaitMember(native: string, signal: AbortSignal): Promise<RolloutStatus> {
    let last: RolloutStatus | undefined;
    const probe = async (): Promise<RolloutStatus> => {
      const service = await this.engine.findService(native);
      if (!service)
        return { state: 'failed', message: `member service "${native}" is gone`, replicas: { desired: 1, running: 0, ready: 0, updated: 0 }, failed: 0 };
      return rolloutFrom(service, await this.tasksOf([native]));
    };
    for await (const s of pollUntil(probe, (s) => TERMINAL_ROLLOUT_STATES.has(s.state) && s.state !== 'none', { intervalMs: 1000, signal })) last = s;
    if (signal.aborted) throw new DriverError(DriverErrorCode.Conflict, 'superseded by a newer rollout');
    return last!;
  }

  /**
   * Rolls members in ordinal order, `parallelism` at a time, each batch only once the previous one
   * runs the new spec again, `delay` between batches. A member the engine could not roll stops the
   * rollout (pause), is passed over (continue), or rolls the members already updated back, last first.
   */
  private async rollMembers(
    steps: { live: EngineService; rendered: EngineServiceSpec }[],
    policy: UpdatePolicy | RollbackPolicy,
    parallelism: number,
    record: MemberRollout,
    signal: AbortSignal,
    secretIds: () => Promise<Map<string, string>>,
  ): Promise<void> {
    const updated: typeof steps = [];
    for (let b = 0; b < steps.length; b += parallelism) {
      if (b > 0 && policy.delay) await new Promise((resolve) => setTimeout(resolve, policy.delay));
      if (signal.aborted) return;
      const batch = steps.slice(b, b + parallelism);
      for (const step of batch) await this.writeMember(step.rendered.Name, step.rendered, secretIds);
      updated.push(...batch);
      const outcomes = await Promise.all(batch.map((step) => this.awaitMember(step.rendered.Name, signal)));
      const failed = outcomes.map((o, i) => ({ o, name: batch[i]!.rendered.Name })).filter(({ o }) => o.state !== 'completed');
      record.done++;
      if (!failed.length) continue;
      record.failed += failed.length;
      const why = failed.map(({ o, name }) => `${name}: ${o.message ?? o.state}`).join('; ');
      const action = 'failureAction' in policy ? policy.failureAction : 'pause';
      if (action === 'continue') continue;
      if (action === 'pause') {
        record.state = 'paused';
        record.message = `paused after a member failed (${why}): the members after it still run the previous spec`;
        return;
      }
      record.state = 'rolling-back';
      record.message = `rolling back after a member failed (${why})`;
      for (const step of [...updated].reverse()) {
        await this.writeMember(step.live.Spec.Name, step.live.Spec, secretIds);
        await this.awaitMember(step.live.Spec.Name, signal);
      }
      record.state = 'rolled-back';
      record.message = `rolled back after a member failed (${why})`;
      return;
    }
    record.state = 'completed';
  }

  /** Writes a whole stateful service (updateService, rollbackService, scale). */
  private async writeMemberSet(ref: ServiceRef, members: EngineService[], spec: ServiceSpec, rollback: boolean): Promise<{ changed: boolean }> {
    if (!hasMembers(spec)) {
      throw new DriverError(
        DriverErrorCode.Invalid,
        `service "${ref.service}" runs as stateful members on Swarm: change "stateful" or "mode" with an apply of the app`,
      );
    }
    const ctx = await this.contextFor(ref.app, spec, readAppContext(members[0]!.Spec.Labels));
    const rendered = renderMembers(ref.app, ref.service, spec, ctx).map((r) => (rollback ? asRollback(r.spec, spec) : r.spec));
    const steps = await this.memberSteps(ref.app, ref.service, members, rendered);
    if (steps.every((s) => s.object.action === 'unchanged')) return { changed: false };
    await this.writeMembers(ref.app, ref.service, steps, rollback ? rollbackPolicyOf(spec) : updatePolicyOf(spec), () => this.secretIds(ref.app));
    return { changed: true };
  }

  // ------------------------------------------------------------------ secrets

  ensureSecrets(app: string, secrets: SecretValue[]): Promise<void> {
    return this.write(app, () => this.ensureSecretsNow(app, secrets));
  }

  private async ensureSecretsNow(app: string, secrets: SecretValue[]): Promise<void> {
    if (!secrets.length) return;
    const existing = await this.secretIds(app);
    for (const s of secrets) {
      const name = secretName(app, s.name, s.version);
      if (existing.has(name)) continue;
      try {
        await this.engine.createSecret(name, s.value, secretLabels(app, s.name, s.version));
      } catch (err) {
        // written meanwhile by another apply: versions are immutable, so it holds the same value
        if (!isDriverError(err, DriverErrorCode.Conflict)) throw err;
      }
    }
  }

  /** The app's secrets on the engine: ID by name. */
  private async secretIds(app: string): Promise<Map<string, string>> {
    return new Map((await this.engine.listSecrets({ label: [label(LABEL.app, app)] })).map((s) => [s.Spec.Name, s.ID]));
  }

  /** The engine references secrets by ID; Berth renders names (stable across clusters) and fills IDs in here. */
  private async withSecretIds(spec: EngineServiceSpec, secretIds: () => Promise<Map<string, string>>): Promise<EngineServiceSpec> {
    const refs = spec.TaskTemplate.ContainerSpec.Secrets;
    if (!refs?.length) return spec;
    const ids = await secretIds();
    const missing = refs.filter((r) => !ids.has(r.SecretName)).map((r) => r.SecretName);
    if (missing.length) {
      throw new DriverError(
        DriverErrorCode.Invalid,
        `secret(s) ${missing.join(', ')} do not exist on the cluster: they are written by ensureSecrets before a service uses them`,
      );
    }
    const Secrets = refs.map((r) => ({ ...r, SecretID: ids.get(r.SecretName)! }));
    return { ...spec, TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Secrets } } };
  }

  private async removeServiceIfPresent(service: EngineService): Promise<void> {
    try {
      await this.engine.removeService(service.ID, service.Spec.Name);
    } catch (err) {
      if (!isDriverError(err, DriverErrorCode.NotFound)) throw err;
    }
  }

  /** Polls `attempt` until it reports done, or the cleanup timeout passes; returns the last report. */
  private async settle<T>(attempt: () => Promise<T>, done: (state: T) => boolean): Promise<T | undefined> {
    let last: T | undefined;
    for await (const state of pollUntil(attempt, done, { intervalMs: 500, signal: this.signal(AbortSignal.timeout(CLEANUP_TIMEOUT_MS)) })) last = state;
    return last;
  }

  /**
   * Removes containers matching `filter` once they have stopped. The engine removes a service's
   * task containers itself, but leaves those of job services behind (Docker 20.10).
   */
  private async removeStoppedContainers(filter: string): Promise<void> {
    await this.settle(
      async () => {
        const containers = await this.engine.listContainers({ label: [filter] }, true);
        for (const c of containers.filter((c) => c.State !== 'running' && c.State !== 'restarting' && c.State !== 'removing')) {
          await this.engine.removeContainer(c.Id).catch((err: unknown) => {
            if (!isDriverError(err, DriverErrorCode.NotFound) && !isDriverError(err, DriverErrorCode.Conflict)) throw err;
          });
        }
        return containers.length;
      },
      (n) => n === 0,
    );
  }

  remove(app: string, options: RemoveOptions = {}): Promise<{ removed: string[] }> {
    return this.write(app, () => this.removeNow(app, options));
  }

  private async removeNow(app: string, options: RemoveOptions): Promise<{ removed: string[] }> {
    const removed: string[] = [];
    const services = await this.engine.listServices({ label: [label(LABEL.app, app)] });
    for (const s of services) {
      await this.removeServiceIfPresent(s);
      removed.push(`service/${s.Spec.Name}`);
    }
    await this.removeStoppedContainers(label(LABEL.app, app));

    const network = await this.findNetwork(networkName(app));
    if (network) {
      // the engine refuses while the last task's endpoint is still attached: retry until it is gone
      let lastError: unknown;
      const gone = await this.settle(
        async () => {
          try {
            await this.engine.removeNetwork(network.Id, network.Name);
            return true;
          } catch (err) {
            lastError = err;
            return isDriverError(err, DriverErrorCode.NotFound);
          }
        },
        (ok) => ok,
      );
      if (!gone)
        throw new DriverError(
          DriverErrorCode.Conflict,
          `network "${network.Name}" is still in use after ${CLEANUP_TIMEOUT_MS / 1000} s: remove what is attached to it and retry`,
          [],
          { cause: lastError },
        );
      removed.push(`network/${network.Name}`);
    }

    for (const [name, id] of await this.secretIds(app)) {
      try {
        await this.engine.removeSecret(id, name);
        removed.push(`secret/${name}`);
      } catch (err) {
        if (!isDriverError(err, DriverErrorCode.NotFound)) throw err;
      }
    }

    if (options.volumes) {
      const volumes = await this.engine.listVolumes({ label: [label(LABEL.app, app)] });
      for (const v of volumes.filter((v) => v.Labels?.[LABEL.volumeKind] !== 'shared')) {
        await this.removeVolumeNamed(v.Name);
        removed.push(`volume/${v.Name}`);
      }
    }
    return { removed };
  }

  async listApps(options?: ReadOptions): Promise<AppSummary[]> {
    const services = await this.from(undefined, options).source.labelledServices();
    const apps = new Map<string, string[]>();
    for (const s of services) {
      const app = s.Spec.Labels[LABEL.app]!;
      const list = apps.get(app) ?? [];
      if (!isJob(s)) list.push(s.Spec.Labels[LABEL.service] ?? s.Spec.Name);
      apps.set(app, list);
    }
    // the members of a stateful service are one service
    return [...apps].map(([name, list]) => ({ name, services: [...new Set(list)].sort() })).sort((a, b) => a.name.localeCompare(b.name));
  }

  // ------------------------------------------------------------------ services

  private async tasksOf(names: string[]): Promise<EngineTask[]> {
    return names.length ? this.engine.listTasks({ service: names }) : [];
  }

  async listServices(app?: string, options?: ReadOptions): Promise<ServiceStatus[]> {
    const { source, store } = this.from(app, options);
    const [{ services, tasks }, view] = await Promise.all([source.servicesWithTasks(app), source.view()]);
    const at = store?.servicesObservedAt(app);
    if (!services.length) return [];
    const sets = new Map<string, EngineService[]>();
    const single: EngineService[] = [];
    for (const s of services) {
      if (memberOrdinal(s) === undefined) single.push(s);
      else {
        const key = `${s.Spec.Labels[LABEL.app]}/${s.Spec.Labels[LABEL.service]}`;
        sets.set(key, [...(sets.get(key) ?? []), s]);
      }
    }
    const statuses = [
      ...single.map((s) => serviceStatusFrom(s, tasks.get(s.ID) ?? [], view)),
      ...[...sets].map(([key, members]) => memberSetStatus(members, tasks, view, this.rollouts.get(key)?.record)),
    ].sort((a, b) => a.app.localeCompare(b.app) || a.service.localeCompare(b.service));
    return this.stamp(statuses, at);
  }

  private async requireService(ref: ServiceRef, source: SwarmSource = this.direct): Promise<EngineService> {
    const service = await source.service(serviceName(ref.app, ref.service));
    if (!service || isJob(service)) throw DriverError.notFound(`service "${ref.service}" of app "${ref.app}"`);
    return service;
  }

  async getService(ref: ServiceRef, options?: ReadOptions): Promise<ServiceStatus> {
    const { source, store } = this.from(ref.app, options);
    const members = await source.members(ref);
    let status: ServiceStatus;
    if (members.length) {
      const [tasks, view] = await Promise.all([source.tasks(members), source.view()]);
      status = memberSetStatus(members, tasks, view, this.rollouts.get(`${ref.app}/${ref.service}`)?.record);
    } else {
      const service = await this.requireService(ref, source);
      const [tasks, view] = await Promise.all([source.tasks([service]), source.view()]);
      status = serviceStatusFrom(service, tasks.get(service.ID) ?? [], view);
    }
    return this.stamp([status], store?.servicesObservedAt(ref.app))[0]!;
  }

  scale(ref: ServiceRef, replicas: number): Promise<void> {
    return this.write(ref.app, () => this.scaleNow(ref, replicas));
  }

  private async scaleNow(ref: ServiceRef, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new DriverError(DriverErrorCode.Invalid, `replicas must be a whole number of at least 0, got ${replicas}`);
    }
    const members = await this.findMembers(ref);
    if (members.length) {
      const recorded = readServiceSpec(members[0]!.Spec.Labels);
      if (!recorded) throw new DriverError(DriverErrorCode.Conflict, `service "${ref.service}" has no readable berth.io/spec label: apply the app again`);
      await this.writeMemberSet(ref, members, { ...recorded, replicas }, false);
      return;
    }
    const service = await this.requireService(ref);
    if (!service.Spec.Mode.Replicated) {
      throw new DriverError(DriverErrorCode.Invalid, `service "${ref.service}" is global (one replica per node) and cannot be scaled: change its mode instead`);
    }
    if (service.Spec.Mode.Replicated.Replicas === replicas) return;
    // Only the replica count changes (nothing else is re-rendered); the recorded spec follows it, so
    // that re-applying the earlier revision is seen as a change and scales back.
    const labels = { ...service.Spec.Labels };
    const recorded = readServiceSpec(labels);
    if (recorded) {
      const rendered = renderService(ref.app, ref.service, { ...recorded, replicas }, readAppContext(labels)).spec;
      for (const key of [LABEL.spec, LABEL.specHash, SWARM_LABEL.renderHash]) labels[key] = rendered.Labels[key]!;
    }
    await this.engine.updateService(service.ID, service.Version.Index, { ...service.Spec, Labels: labels, Mode: { Replicated: { Replicas: replicas } } });
  }

  /**
   * The app context for rendering one service or job outside an apply: what the service was last
   * rendered with, plus the definitions of shared volumes created since (createVolume).
   */
  private async contextFor(app: string, spec: { volumes: VolumeMount[] }, base: AppContext): Promise<AppContext> {
    const missing = undefinedSharedVolumes(spec, base);
    if (!missing.length) return base;
    const volumes = { ...base.volumes };
    for (const source of missing) {
      const existing = await this.engine.inspectVolume(volumeName(app, source)).catch((err: unknown) => {
        if (isDriverError(err, DriverErrorCode.NotFound)) return undefined;
        throw err;
      });
      if (!existing) {
        throw new DriverError(DriverErrorCode.Invalid, `shared volume "${source}" is not declared for app "${app}"`, [
          { path: 'volumes', message: `declare "${source}" under the app's volumes and apply the app, or create it with createVolume first` },
        ]);
      }
      volumes[source] = VolumeDefinition.parse({
        driver: existing.Driver,
        ...(existing.Options && Object.keys(existing.Options).length ? { driverOptions: existing.Options } : {}),
      });
    }
    return { ...base, volumes };
  }

  private async writeService(ref: ServiceRef, spec: ServiceSpec, rollback: boolean): Promise<{ changed: boolean }> {
    const members = await this.findMembers(ref);
    if (members.length) return this.writeMemberSet(ref, members, spec, rollback);
    const live = await this.requireService(ref);
    const ctx = await this.contextFor(ref.app, spec, readAppContext(live.Spec.Labels));
    const rendered = renderService(ref.app, ref.service, spec, ctx).spec;
    if (live.Spec.Labels[SWARM_LABEL.renderHash] === rendered.Labels[SWARM_LABEL.renderHash]) return { changed: false };
    await this.engine.updateService(
      live.ID,
      live.Version.Index,
      await this.withSecretIds(rollback ? asRollback(rendered, spec) : rendered, () => this.secretIds(ref.app)),
    );
    return { changed: true };
  }

  updateService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }> {
    return this.write(ref.app, () => this.writeService(ref, spec, false));
  }

  /**
   * The engine keeps only one PreviousSpec, so a rollback to any revision is an update to that
   * revision's spec, rolled out with the revision's rollback policy.
   */
  rollbackService(ref: ServiceRef, spec: ServiceSpec): Promise<{ changed: boolean }> {
    return this.write(ref.app, () => this.writeService(ref, spec, true));
  }

  async rolloutStatus(ref: ServiceRef, options?: ReadOptions): Promise<RolloutStatus> {
    const { source } = this.from(ref.app, options);
    const members = await source.members(ref);
    if (members.length) return memberRolloutFrom(members, await source.tasks(members), this.rollouts.get(`${ref.app}/${ref.service}`)?.record);
    const service = await this.requireService(ref, source);
    return rolloutFrom(service, (await source.tasks([service])).get(service.ID) ?? []);
  }

  /** Swarm enforces every failure action itself (pause, continue, rollback, maxFailureRatio): following is reading. */
  followRollout(ref: ServiceRef, options: FollowOptions = {}): AsyncIterable<RolloutStatus> {
    return pollUntil(
      () => this.rolloutStatus(ref),
      (s) => TERMINAL_ROLLOUT_STATES.has(s.state),
      {
        signal: this.signal(options.signal),
        ...(options.pollIntervalMs !== undefined ? { intervalMs: options.pollIntervalMs } : {}),
      },
    );
  }

  // ------------------------------------------------------------------ jobs

  runJob(spec: JobSpec): Promise<JobRef> {
    return this.write(spec.app ?? DEFAULT_JOB_APP, () => this.runJobNow(spec));
  }

  private async runJobNow(spec: JobSpec): Promise<JobRef> {
    const app = spec.app ?? DEFAULT_JOB_APP;
    const name = jobRunName(app, spec.name, randomBytes(3).toString('hex'));
    const ctx = await this.contextFor(app, spec, { labels: {}, volumes: {} });
    await this.ensureNetwork(app);
    await this.engine.createService(renderJob(app, name, spec, ctx));
    return { app, name };
  }

  private async findJob(ref: JobRef): Promise<EngineService | undefined> {
    const service = await this.engine.findService(serviceName(ref.app, ref.name));
    return service && isJob(service) ? service : undefined;
  }

  async jobStatus(ref: JobRef): Promise<JobStatus> {
    const service = await this.findJob(ref);
    if (!service) throw DriverError.notFound(`job run "${ref.name}" of app "${ref.app}"`);
    const [tasks, view] = await Promise.all([this.tasksOf([service.Spec.Name]), this.direct.view()]);
    return jobStatusFrom(ref.app, ref.name, service, tasks, view);
  }

  removeJob(ref: JobRef): Promise<void> {
    return this.write(ref.app, () => this.removeJobNow(ref));
  }

  private async removeJobNow(ref: JobRef): Promise<void> {
    const service = await this.findJob(ref);
    if (!service) return;
    await this.removeServiceIfPresent(service);
    await this.removeStoppedContainers(label(SWARM_LABEL.serviceName, service.Spec.Name));
  }

  // ------------------------------------------------------------------ volumes

  /** This engine's host name: volumes are node-local, and this engine lists only its own. */
  private async localNode(): Promise<string | undefined> {
    return (await this.engine.info()).Name;
  }

  async listVolumes(app?: string, options?: ReadOptions): Promise<VolumeInfo[]> {
    const { source, store } = this.from(app, options);
    const { volumes, node } = await source.volumes(app);
    const at = store?.volumesObservedAt();
    return this.stamp(
      volumes.map((v) => volumeInfoFrom(v, node)).sort((a, b) => a.nativeName.localeCompare(b.nativeName)),
      at,
    );
  }

  createVolume(app: string, name: string, definition: VolumeCreate): Promise<VolumeInfo> {
    return this.write(app, () => this.createVolumeNow(app, name, definition));
  }

  private async createVolumeNow(app: string, name: string, definition: VolumeCreate): Promise<VolumeInfo> {
    if (!DnsLabel.safeParse(name).success) {
      throw new DriverError(DriverErrorCode.Invalid, `volume name "${name}" is not a DNS label`, [
        { path: 'name', message: 'use lowercase letters, digits and "-"' },
      ]);
    }
    const labels = volumeLabels(app, name, definition.kind, definition.labels);
    const [volume, node] = await Promise.all([
      this.engine.createVolume(volumeName(app, name), definition.driver ?? 'local', definition.driverOptions, labels),
      this.localNode(),
    ]);
    return volumeInfoFrom(volume, node);
  }

  private async removeVolumeNamed(native: string): Promise<void> {
    // a volume stays "in use" until the engine has removed the last container that mounted it
    let lastError: unknown;
    const done = await this.settle(
      async () => {
        try {
          await this.engine.removeVolume(native);
          return true;
        } catch (err) {
          if (isDriverError(err, DriverErrorCode.NotFound)) return true;
          if (!isDriverError(err, DriverErrorCode.Conflict)) throw err;
          lastError = err;
          return false;
        }
      },
      (ok) => ok,
    );
    if (!done) throw lastError ?? new DriverError(DriverErrorCode.Conflict, `volume "${native}" is still in use`);
  }

  removeVolume(app: string, name: string): Promise<void> {
    return this.write(app, () => this.removeVolumeNamed(volumeName(app, name)));
  }

  // ------------------------------------------------------------------ observe

  async *events(options: EventOptions = {}): AsyncGenerator<ClusterEvent> {
    const cursor = options.since;
    if (cursor !== undefined && !/^\d+$/.test(cursor)) {
      throw new DriverError(DriverErrorCode.Invalid, `event cursor "${cursor}" is not one this driver returned (expected nanoseconds)`);
    }
    const signal = this.signal(options.signal);
    if (signal.aborted) return;
    try {
      const stream = await this.engine.events({ ...(cursor ? { since: sinceParam(cursor) } : {}), signal });
      for await (const line of textLines(stream)) {
        const raw = parseEngineEvent(line);
        // the engine's `since` is inclusive: the event at the cursor was delivered already
        if (!raw || (cursor && BigInt(raw.timeNano) <= BigInt(cursor))) continue;
        const event = eventFrom(raw);
        if (options.app && event.app !== options.app) continue;
        yield event;
      }
    } catch (err) {
      if (signal.aborted) return;
      throw toDriverError(err, 'event stream');
    }
  }

  async stats(app?: string): Promise<StatsSample[]> {
    const [containers, node] = await Promise.all([this.engine.listContainers({ label: [label(LABEL.app, app)] }), this.localNode()]);
    // one container that stops between list and read must not cost the others their sample
    const samples = await Promise.allSettled(containers.map(async (c) => statsFrom(c, await this.engine.containerStats(c.Id), node)));
    return samples.flatMap((s) => (s.status === 'fulfilled' && s.value ? [s.value] : []));
  }

  async *logs(target: ServiceRef | JobRef, options: LogOptions = {}): AsyncGenerator<LogLine> {
    const members = 'service' in target ? await this.findMembers(target) : [];
    if (!members.length) {
      yield* this.nativeLogs(target, options);
      return;
    }
    // every member's lines, the replica being the member's ordinal
    const streams = members.map((m) => this.nativeLogs({ app: target.app, member: m }, options));
    if (!options.follow) {
      const lines: LogLine[] = [];
      for (const stream of streams) for await (const line of stream) lines.push(line);
      yield* lines.sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
      return;
    }
    yield* mergeStreams(streams);
  }

  private async *nativeLogs(target: ServiceRef | JobRef | { app: string; member: EngineService }, options: LogOptions): AsyncGenerator<LogLine> {
    if ('member' in target) {
      const ordinal = String(memberOrdinal(target.member));
      // a member is addressed by its native name, like a job run
      const name = splitNativeName(target.member.Spec.Name)?.rest ?? target.member.Spec.Name;
      for await (const line of this.nativeLogs({ app: target.app, name }, options)) yield { ...line, replica: ordinal };
      return;
    }
    const native = 'service' in target ? serviceName(target.app, target.service) : serviceName(target.app, target.name);
    const service = await this.engine.findService(native);
    if (!service)
      throw DriverError.notFound(
        'service' in target ? `service "${target.service}" of app "${target.app}"` : `job run "${target.name}" of app "${target.app}"`,
      );
    const signal = this.signal(options.signal);
    const since = options.since ? logSince(options.since) : undefined;

    // lines name their task; the replica is its slot (or node, for global services)
    const replicas = new Map<string, string>();
    const readReplicas = async () => {
      for (const t of await this.tasksOf([native])) replicas.set(t.ID, t.Slot !== undefined ? String(t.Slot) : (t.NodeID ?? t.ID));
    };
    await readReplicas();

    try {
      const body = await this.engine.serviceLogs(service.ID, native, {
        follow: options.follow ?? false,
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        ...(since ? { since } : {}),
        signal,
      });
      for await (const { stream, line } of frameLines(demuxFrames(body))) {
        const parsed = parseServiceLogLine(line);
        if (parsed.taskId && !replicas.has(parsed.taskId)) await readReplicas();
        const replica = parsed.taskId ? (replicas.get(parsed.taskId) ?? parsed.taskId) : '';
        yield { ...(options.timestamps !== false && parsed.time ? { time: parsed.time } : {}), replica, stream, line: parsed.text };
      }
    } catch (err) {
      if (signal.aborted) return;
      throw toDriverError(err, `logs of ${native}`);
    }
  }

  async readModel(): Promise<ReadModelStatus> {
    return this.gate && this.store ? this.gate.status(this.store.counts()) : READ_MODEL_OFF;
  }

  async close(): Promise<void> {
    this.store?.stop();
    this.closing.abort();
  }
}

/** Lines of several streams as they come. */
async function* mergeStreams<T>(streams: AsyncGenerator<T>[]): AsyncGenerator<T> {
  const next = streams.map((s, i) => s.next().then((r) => ({ r, i })));
  let open = streams.length;
  while (open > 0) {
    const { r, i } = await Promise.race(next.filter(Boolean));
    if (r.done) {
      open--;
      next[i] = new Promise(() => undefined);
      continue;
    }
    next[i] = streams[i]!.next().then((r) => ({ r, i }));
    yield r.value;
  }
}

export interface SwarmDriverOptions {
  /**
   * Keep a watch-fed read model of the Berth services, their tasks, the nodes and the Berth volumes,
   * so that reads asking for `{ consistency: 'cached' }` are answered from memory (default off).
   */
  readModel?: boolean | SwarmReadModelOptions;
}

export function createSwarmDriver(conn: SwarmConnection, options: SwarmDriverOptions = {}): SwarmDriver {
  return new SwarmDriver(new SwarmEngine(conn), options);
}
