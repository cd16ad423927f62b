import {
  ServiceSpec,
  rollbackPolicyOf,
  updatePolicyOf,
  canonicalJson,
  specHash,
  type AppSpec,
  type HealthCheck,
  type JobSpec,
  type Resources,
  type RollbackPolicy,
  type UpdatePolicy,
  type VolumeDefinition,
  type VolumeMount,
} from '@berth/model';
import { DriverError, DriverErrorCode, LABEL, MANAGER, type DriverWarning, type VolumeKind } from '@berth/driver';
import type {
  EngineContainerSpec,
  EngineEndpointSpec,
  EngineHealthConfig,
  EngineMount,
  EngineResources,
  EngineServiceSpec,
  EngineTaskSpec,
  EngineSecretReference,
  EngineUpdateConfig,
  Labels,
} from './swarm-engine.types.js';

/** Labels only this driver writes, next to the shared ones in @berth/driver's LABEL. */
export const SWARM_LABEL = {
  /**
   * Hash of the engine spec as rendered (minus this label). Idempotency compares this rather than
   * berth.io/spec-hash alone, because app-level inputs (app labels, shared volume definitions) and
   * the mapping itself also shape what is written.
   */
  renderHash: 'berth.io/swarm-spec-hash',
  /** The app-level inputs a service was rendered with, so that updateService can render it alone. */
  appContext: 'berth.io/app-context',
  /** Set by the engine on every task container. */
  serviceName: 'com.docker.swarm.service.name',
  serviceId: 'com.docker.swarm.service.id',
} as const;

/** Swarm refuses service names longer than a DNS label. */
const MAX_SERVICE_NAME = 63;
const NS_PER_MS = 1_000_000;
export const SLOT_TEMPLATE = '{{.Task.Slot}}';
/** Where a job without an app runs: its own network and name prefix, like Kubernetes' "default" namespace. */
export const DEFAULT_JOB_APP = 'default';

/** App-level inputs that shape one service's engine spec. */
export interface AppContext {
  labels: Record<string, string>;
  /** Definitions of the named and shared volumes the service mounts. */
  volumes: Record<string, VolumeDefinition>;
}

export interface RenderedService {
  spec: EngineServiceSpec;
  warnings: DriverWarning[];
}

export const networkName = (app: string): string => `${app}_default`;
export const serviceName = (app: string, service: string): string => `${app}_${service}`;

/** Per-replica volumes carry the task slot in their name, which the engine expands per task. */
export const volumeName = (app: string, source: string, perReplica = false): string => (perReplica ? `${app}_${source}-${SLOT_TEMPLATE}` : `${app}_${source}`);

/** Swarm secret names are at most 64 characters; the version keeps a shortened one unique. */
const MAX_SECRET_NAME = 64;
export const secretName = (app: string, secret: string, version: string): string =>
  `${`${app}_${secret}`.slice(0, MAX_SECRET_NAME - version.length - 1)}_${version}`;

export function secretLabels(app: string, secret: string, version: string): Labels {
  return { ...appLabels(app), [LABEL.secret]: secret, [LABEL.secretVersion]: version };
}

/** Secret files, by name only: the engine's IDs are filled in right before a write (see withSecretIds). */
function renderSecrets(app: string, svc: ServiceSpec): EngineSecretReference[] | undefined {
  if (!svc.secrets.length) return undefined;
  return svc.secrets
    .map((s) => ({
      SecretName: secretName(app, s.source, s.version ?? ''),
      File: { Name: s.target ?? s.source, UID: '0', GID: '0', Mode: s.mode },
    }))
    .sort((a, b) => (a.File.Name < b.File.Name ? -1 : 1));
}

/** Splits `<app>_<rest>` (Swarm stack naming); app names are DNS labels, so the first "_" is the separator. */
export function splitNativeName(name: string): { app: string; rest: string } | undefined {
  const i = name.indexOf('_');
  return i > 0 ? { app: name.slice(0, i), rest: name.slice(i + 1) } : undefined;
}

/** Labels every native object of an app carries: Berth's own, and Swarm's stack label so `docker stack` sees the app. */
export function appLabels(app: string): Labels {
  return { [LABEL.stackNamespace]: app, [LABEL.app]: app, [LABEL.managedBy]: MANAGER };
}

export function volumeLabels(app: string, source: string, kind: VolumeKind, extra: Labels = {}): Labels {
  return { ...extra, ...appLabels(app), [LABEL.volume]: source, [LABEL.volumeKind]: kind };
}

const nanos = (ms: number): number => Math.round(ms * NS_PER_MS);

/** Drops undefined members, so the rendered spec has the shape the engine returns (and diffs cleanly). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function checkServiceName(name: string, path: string): void {
  if (name.length > MAX_SERVICE_NAME) {
    throw new DriverError(DriverErrorCode.Invalid, `Swarm service name "${name}" is ${name.length} characters; the limit is ${MAX_SERVICE_NAME}`, [
      { path, message: `app name + "_" + this name must fit in ${MAX_SERVICE_NAME} characters on Swarm: shorten one of them` },
    ]);
  }
}

/** The context one service of `app` needs: app labels, and the definitions of the volumes it mounts. */
export function appContextFor(app: AppSpec, service: ServiceSpec): AppContext {
  const volumes: Record<string, VolumeDefinition> = {};
  for (const v of service.volumes) {
    if ((v.type === 'named' || v.type === 'shared') && app.volumes[v.source]) volumes[v.source] = app.volumes[v.source]!;
  }
  return { labels: app.labels, volumes };
}

export function updateConfig(policy: UpdatePolicy | RollbackPolicy): EngineUpdateConfig {
  // zero delay and monitor are left out, as the engine returns them
  return defined({
    Parallelism: policy.parallelism,
    Delay: policy.delay ? nanos(policy.delay) : undefined,
    FailureAction: policy.failureAction,
    Monitor: policy.monitor ? nanos(policy.monitor) : undefined,
    MaxFailureRatio: policy.maxFailureRatio,
    Order: policy.order,
  });
}

function healthConfig(h: HealthCheck): EngineHealthConfig {
  return defined({
    Test: h.test,
    Interval: nanos(h.interval),
    Timeout: nanos(h.timeout),
    Retries: h.retries,
    // the engine omits a zero start period; leaving it out keeps plans free of phantom changes
    StartPeriod: h.startPeriod > 0 ? nanos(h.startPeriod) : undefined,
  });
}

function resourceAmounts(r: { cpus?: number; memoryBytes?: number } | undefined): EngineResources | undefined {
  if (!r || (r.cpus === undefined && r.memoryBytes === undefined)) return undefined;
  return defined({ NanoCPUs: r.cpus === undefined ? undefined : Math.round(r.cpus * 1e9), MemoryBytes: r.memoryBytes });
}

function resources(r: Resources | undefined): EngineTaskSpec['Resources'] {
  const limits = resourceAmounts(r?.limits);
  const reservations = resourceAmounts(r?.reservations);
  return limits || reservations ? defined({ Limits: limits, Reservations: reservations }) : undefined;
}

interface MountContext {
  app: string;
  /** Per-replica volumes (stateful services). */
  perReplica: boolean;
  /** More than one replica may mount the same volume. */
  manyReplicas: boolean;
  ctx: AppContext;
  path: string;
  warnings: DriverWarning[];
}

function volumeDriver(def: VolumeDefinition | undefined): NonNullable<EngineMount['VolumeOptions']>['DriverConfig'] {
  if (!def?.driver) return undefined;
  return defined({ Name: def.driver, Options: def.driverOptions && Object.keys(def.driverOptions).length ? def.driverOptions : undefined });
}

function renderMount(v: VolumeMount, m: MountContext, i: number): EngineMount {
  const path = `${m.path}.volumes[${i}]`;
  const readOnly = v.type !== 'implicit' && v.readOnly ? true : undefined;
  switch (v.type) {
    case 'implicit':
      // An anonymous volume without options: the engine removes it with the task's container, so it
      // lives and dies with the replica like the container layer, and the mount stays visible.
      return { Type: 'volume', Target: v.target };
    case 'hostPath':
      m.warnings.push({ path: `${path}.source`, message: `Swarm does not create host paths: "${v.source}" must exist on every node a replica may run on` });
      return defined({ Type: 'bind' as const, Source: v.source, Target: v.target, ReadOnly: readOnly });
    case 'named':
    case 'shared': {
      const def = m.ctx.volumes[v.source];
      const perReplica = v.type === 'named' && m.perReplica;
      if (v.type === 'shared' && !def?.driver) {
        m.warnings.push({
          path: `volumes.${v.source}.driver`,
          message: 'no Swarm volume driver given (a storage class means nothing to Swarm): the local driver is used, and each node gets its own copy',
        });
      }
      if (v.type === 'named' && !perReplica && m.manyReplicas) {
        m.warnings.push({
          path: `${path}.source`,
          message: `named volumes are node-local on Swarm: replicas on the same node share "${volumeName(m.app, v.source)}", replicas on other nodes get their own`,
        });
      }
      return defined({
        Type: 'volume' as const,
        Source: volumeName(m.app, v.source, perReplica),
        Target: v.target,
        ReadOnly: readOnly,
        VolumeOptions: defined({ Labels: volumeLabels(m.app, v.source, v.type, def?.labels), DriverConfig: volumeDriver(def) }),
      });
    }
  }
}

function envList(env: Record<string, string>): string[] | undefined {
  const entries = Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`) : undefined;
}

function withRenderHash(spec: EngineServiceSpec): EngineServiceSpec {
  return { ...spec, Labels: { ...spec.Labels, [SWARM_LABEL.renderHash]: specHash(spec) } };
}

/** The engine names capabilities with "CAP_"; Berth's model without it. */
const engineCaps = (caps: string[] | undefined): string[] | undefined => (caps?.length ? caps.map((c) => (c === 'ALL' ? c : `CAP_${c}`)) : undefined);

/**
 * Node-level powers a Swarm service cannot have: SwarmKit's service spec has no privileged mode,
 * no host PID/IPC namespace and no device mapping. Refused by name rather than dropped, so that a
 * workload the policy allowed never runs with less than it asked for without saying so.
 */
function refuseUnsupported(svc: ServiceSpec, path: string): void {
  const causes = [
    svc.privileged
      ? { path: `${path}.privileged`, message: 'Swarm services cannot run privileged: add the capabilities it needs (capAdd) instead' }
      : undefined,
    svc.hostPid ? { path: `${path}.hostPid`, message: "Swarm services cannot share the node's process namespace" } : undefined,
    svc.hostIpc ? { path: `${path}.hostIpc`, message: "Swarm services cannot share the node's IPC namespace" } : undefined,
    svc.devices?.length ? { path: `${path}.devices`, message: 'Swarm services cannot map devices of the node' } : undefined,
  ].filter((c) => c !== undefined);
  if (causes.length) throw new DriverError(DriverErrorCode.Unsupported, `not possible on Swarm: ${causes.map((c) => c.path).join(', ')}`, causes);
}

/**
 * Renders one service of an app as the engine spec Berth writes: a pure function, so plans,
 * idempotency and unit tests all see exactly what apply sends.
 */
export function renderService(app: string, name: string, svc: ServiceSpec, ctx: AppContext): RenderedService {
  const path = `services.${name}`;
  const native = serviceName(app, name);
  checkServiceName(native, path);
  refuseUnsupported(svc, path);
  const warnings: DriverWarning[] = [];
  const userLabels = { ...ctx.labels, ...svc.labels };

  const ports = svc.ports.map((p, i) => {
    let mode = p.mode;
    if (svc.stateful && mode === 'ingress') {
      // dnsrr (stable per-replica identity) and the routing mesh exclude each other in Swarm
      warnings.push({
        path: `${path}.ports[${i}].mode`,
        message: 'a stateful service uses DNS round robin, which cannot publish through the ingress routing mesh: published in host mode',
      });
      mode = 'host';
    }
    return defined({ Protocol: p.protocol, TargetPort: p.target, PublishedPort: p.published, PublishMode: mode });
  });
  const endpoint: EngineEndpointSpec = defined({
    Mode: svc.stateful ? ('dnsrr' as const) : ('vip' as const),
    Ports: ports.length && !svc.hostNetwork ? ports : undefined,
  });

  const mounts = svc.volumes.map((v, i) =>
    renderMount(v, { app, perReplica: svc.stateful, manyReplicas: svc.mode === 'global' || svc.replicas > 1, ctx, path, warnings }, i),
  );
  for (const source of Object.keys(ctx.volumes)) {
    if (ctx.volumes[source]!.size) {
      warnings.push({ path: `volumes.${source}.size`, message: 'Swarm volumes have no requested size: only driver options can bound it' });
    }
  }

  const container: EngineContainerSpec = defined({
    Image: svc.image,
    Labels: { ...userLabels, ...appLabels(app), [LABEL.service]: name },
    Command: svc.entrypoint,
    Args: svc.command,
    Hostname: svc.stateful ? `${svc.hostname ?? name}-${SLOT_TEMPLATE}` : svc.hostname,
    Env: envList(svc.env),
    Dir: svc.workingDir,
    User: svc.user,
    Mounts: mounts.length ? mounts : undefined,
    Secrets: renderSecrets(app, svc),
    StopGracePeriod: svc.stopGracePeriod === undefined ? undefined : nanos(svc.stopGracePeriod),
    Healthcheck: svc.healthCheck ? healthConfig(svc.healthCheck) : undefined,
    CapabilityAdd: engineCaps(svc.capAdd),
    CapabilityDrop: engineCaps(svc.capDrop),
  });

  const placement =
    svc.placement && (svc.placement.constraints.length || svc.placement.maxReplicasPerNode)
      ? defined({ Constraints: svc.placement.constraints.length ? svc.placement.constraints : undefined, MaxReplicas: svc.placement.maxReplicasPerNode })
      : undefined;
  if (svc.placement?.maxReplicasPerNode && svc.mode === 'global') {
    warnings.push({ path: `${path}.placement.maxReplicasPerNode`, message: 'a global service runs one replica per node anyway: ignored' });
  }

  const restart = svc.restart
    ? defined({
        Condition: svc.restart.condition,
        Delay: svc.restart.delay === undefined ? undefined : nanos(svc.restart.delay),
        MaxAttempts: svc.restart.maxAttempts || undefined,
      })
    : undefined;

  const task: EngineTaskSpec = defined({
    ContainerSpec: container,
    Resources: resources(svc.resources),
    RestartPolicy: restart,
    Placement: placement,
    // the node's network excludes every other one (and with it the app network's DNS names)
    Networks: svc.hostNetwork ? [{ Target: 'host' }] : [{ Target: networkName(app), Aliases: [name] }],
  });
  if (svc.hostNetwork && svc.ports.length) {
    warnings.push({ path: `${path}.ports`, message: "on the node's network the container's ports are the node's ports: nothing is published" });
  }

  const spec: EngineServiceSpec = defined({
    Name: native,
    Labels: {
      ...userLabels,
      ...appLabels(app),
      [LABEL.service]: name,
      [LABEL.spec]: canonicalJson(svc),
      [LABEL.specHash]: specHash(svc),
      [SWARM_LABEL.appContext]: canonicalJson(ctx),
    },
    TaskTemplate: task,
    Mode: svc.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: svc.replicas } },
    UpdateConfig: updateConfig(updatePolicyOf(svc)),
    RollbackConfig: updateConfig(rollbackPolicyOf(svc)),
    EndpointSpec: endpoint,
  });
  return { spec: withRenderHash(spec), warnings };
}

/**
 * The spec for rolling back to an earlier revision: that revision's spec, rolled out with its
 * rollback policy. The render hash stays the one of the plain spec, so re-applying that revision
 * afterwards is recognised as unchanged.
 */
export function asRollback(rendered: EngineServiceSpec, svc: ServiceSpec): EngineServiceSpec {
  return { ...rendered, UpdateConfig: updateConfig(rollbackPolicyOf(svc)) };
}

/** One run's name inside its app: `job-<name>-<suffix>`, shortened so the service name fits Swarm's limit. */
export function jobRunName(app: string, job: string, suffix: string): string {
  const room = MAX_SERVICE_NAME - `${app}_job--${suffix}`.length;
  const base = job.slice(0, Math.max(1, room)).replace(/-+$/, '');
  return `job-${base}-${suffix}`;
}

/** A run-once job as a `replicated-job` service. */
export function renderJob(app: string, runName: string, job: JobSpec, ctx: AppContext): EngineServiceSpec {
  const native = serviceName(app, runName);
  checkServiceName(native, 'name');
  const warnings: DriverWarning[] = [];
  const mounts = job.volumes.map((v, i) => renderMount(v, { app, perReplica: false, manyReplicas: job.parallelism > 1, ctx, path: 'job', warnings }, i));
  const labels = { ...ctx.labels, ...job.labels, ...appLabels(app), [LABEL.job]: job.name };
  return defined({
    Name: native,
    Labels: { ...labels, [LABEL.spec]: canonicalJson(job), [LABEL.specHash]: specHash(job) },
    TaskTemplate: defined({
      ContainerSpec: defined({
        Image: job.image,
        Labels: labels,
        Command: job.entrypoint,
        Args: job.command,
        Env: envList(job.env),
        Mounts: mounts.length ? mounts : undefined,
      }),
      Resources: resources(job.resources),
      // Swarm counts restarts per replica slot; Kubernetes' backoffLimit counts them per job.
      RestartPolicy: job.backoffLimit > 0 ? { Condition: 'on-failure' as const, MaxAttempts: job.backoffLimit } : { Condition: 'none' as const },
      Networks: [{ Target: networkName(app), Aliases: [runName] }],
      Placement:
        job.placement && (job.placement.constraints.length || job.placement.maxReplicasPerNode)
          ? defined({
              Constraints: job.placement.constraints.length ? job.placement.constraints : undefined,
              MaxReplicas: job.placement.maxReplicasPerNode,
            })
          : undefined,
    }),
    Mode: { ReplicatedJob: { MaxConcurrent: job.parallelism, TotalCompletions: job.completions } },
  });
}

function parseLabelJson(labels: Labels | undefined, key: string): unknown {
  const text = labels?.[key];
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The Berth spec a service was last applied with, read back from its label (undefined when absent or tampered with). */
export function readServiceSpec(labels: Labels | undefined): ServiceSpec | undefined {
  const text = labels?.[LABEL.spec];
  const known = labels && specsRead.get(labels);
  if (known && known.text === text) return known.spec;
  const parsed = ServiceSpec.safeParse(parseLabelJson(labels, LABEL.spec));
  const spec = parsed.success ? parsed.data : undefined;
  if (labels) specsRead.set(labels, { text, spec });
  return spec;
}

/**
 * Specs read back, by the labels object they were read from: the read model holds one service
 * object across reads, and parsing its berth.io/spec label was most of what mapping it cost. (An
 * answer's `spec` is so the same object across answers of the read model: answers are not for changing.)
 */
const specsRead = new WeakMap<Labels, { text: string | undefined; spec: ServiceSpec | undefined }>();

export function readAppContext(labels: Labels | undefined): AppContext {
  const ctx = parseLabelJson(labels, SWARM_LABEL.appContext) as Partial<AppContext> | undefined;
  return { labels: ctx?.labels ?? {}, volumes: ctx?.volumes ?? {} };
}

/** Shared volume sources `svc` mounts that `ctx` has no definition for. */
export function undefinedSharedVolumes(svc: { volumes: VolumeMount[] }, ctx: AppContext): string[] {
  return svc.volumes.filter((v) => v.type === 'shared' && !ctx.volumes[v.source]).map((v) => (v as { source: string }).source);
}

/**
 * What the engine returns for a spec Berth wrote, brought back to the shape Berth renders: network
 * IDs become names again, and defaults the engine fills in are dropped, so that a diff shows only
 * real changes.
 */
export function normalizeLiveSpec(live: EngineServiceSpec, networkNames: ReadonlyMap<string, string>): EngineServiceSpec {
  const { Runtime: _runtime, ForceUpdate, ...task } = live.TaskTemplate;
  const { Init, DNSConfig, Isolation, ...container } = live.TaskTemplate.ContainerSpec;
  const empty = (o: unknown) => o !== null && typeof o === 'object' && Object.keys(o).length === 0;
  const extra = defined({
    Init: Init === false ? undefined : Init,
    DNSConfig: empty(DNSConfig) ? undefined : DNSConfig,
    Isolation: Isolation === 'default' ? undefined : Isolation,
  });
  const secrets = container.Secrets?.map(({ SecretID: _id, ...ref }) => ref);
  const mounts = container.Mounts?.map((m) => {
    if (!m.VolumeOptions) return m;
    const { DriverConfig, ...options } = m.VolumeOptions;
    return { ...m, VolumeOptions: defined({ ...options, DriverConfig: empty(DriverConfig) ? undefined : DriverConfig }) };
  });
  const limits = task.Resources?.Limits && !empty(task.Resources.Limits) ? task.Resources.Limits : undefined;
  const reservations = task.Resources?.Reservations && !empty(task.Resources.Reservations) ? task.Resources.Reservations : undefined;
  return defined({
    ...live,
    TaskTemplate: defined({
      ...task,
      ContainerSpec: defined({ ...container, ...extra, Mounts: mounts, Secrets: secrets }),
      Resources: limits || reservations ? defined({ Limits: limits, Reservations: reservations }) : undefined,
      Placement: empty(task.Placement) ? undefined : task.Placement,
      Networks: task.Networks?.map((n) => ({ ...n, Target: networkNames.get(n.Target) ?? n.Target })),
      ForceUpdate: ForceUpdate ? ForceUpdate : undefined,
    }),
  });
}

/** A stateful service's members on Swarm: one engine service each, `<app>_<service>-<ordinal>`. */
export const memberName = (service: string, ordinal: number): string => `${service}-${ordinal}`;

/**
 * A stateful service as Swarm runs it: Swarm's DNS does not resolve slot-templated hostnames, so
 * each member is its own one-replica engine service `<app>_<service>-<n>`, reachable as
 * `<service>-<n>` (and, all together, as `<service>`), with its own volumes `<app>_<source>-<n>`.
 * Every member carries the whole Berth spec and berth.io/member; Berth presents them as one service.
 */
export function renderMembers(app: string, name: string, svc: ServiceSpec, ctx: AppContext): RenderedService[] {
  const count = svc.mode === 'global' ? 0 : svc.replicas;
  const members: RenderedService[] = [];
  for (let i = 0; i < count; i++) {
    const base = renderService(app, name, svc, ctx);
    const member = memberName(name, i);
    const native = serviceName(app, member);
    checkServiceName(native, `services.${name}`);
    const { [SWARM_LABEL.renderHash]: _hash, ...labels } = base.spec.Labels;
    const container = base.spec.TaskTemplate.ContainerSpec;
    const spec: EngineServiceSpec = {
      ...base.spec,
      Name: native,
      Labels: { ...labels, [LABEL.member]: String(i) },
      TaskTemplate: {
        ...base.spec.TaskTemplate,
        ContainerSpec: defined({
          ...container,
          Labels: { ...container.Labels, [LABEL.member]: String(i) },
          Hostname: `${svc.hostname ?? name}-${i}`,
          Mounts: container.Mounts?.map((m) => (m.Source?.endsWith(`-${SLOT_TEMPLATE}`) ? { ...m, Source: m.Source.replace(SLOT_TEMPLATE, String(i)) } : m)),
        }),
        Networks: svc.hostNetwork ? [{ Target: 'host' }] : [{ Target: networkName(app), Aliases: [member, name] }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    };
    members.push({ spec: withRenderHash(spec), warnings: i === 0 ? base.warnings : [] });
  }
  return members;
}

/** Whether `svc` runs as member services on Swarm. */
export const hasMembers = (svc: ServiceSpec): boolean => svc.stateful && svc.mode !== 'global';
