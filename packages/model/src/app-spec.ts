import { z } from 'zod';
import { Duration } from './duration.js';

/** DNS-1123 label: what both orchestrators accept as a service, app or namespace name. */
export const DnsLabel = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'expected a DNS label: lowercase letters, digits and "-", 1-63 characters, starting and ending with a letter or digit',
  );

const ShortName = DnsLabel.max(40, 'expected at most 40 characters (names are prefixed on the orchestrator)');

const Port = z
  .number({ error: 'expected an integer 1-65535' })
  .int('expected an integer 1-65535')
  .min(1, 'expected an integer 1-65535')
  .max(65535, 'expected an integer 1-65535');

const StringMap = z.record(z.string(), z.string({ error: 'expected a string value' }));

const LabelMap = z.record(
  z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$/, 'expected a label key of letters, digits, ".", "_", "-" and "/"'),
  z.string({ error: 'expected a string value' }).max(63 * 4),
);

export const PortSpec = z.strictObject({
  target: Port,
  published: Port.optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** ingress: load-balanced on every node (Swarm routing mesh, Kubernetes NodePort); host: only where a replica runs. */
  mode: z.enum(['ingress', 'host']).default('ingress'),
});

export const HealthCheck = z.strictObject({
  /** ["CMD", "nc", "-z", "localhost", "80"] runs directly; ["CMD-SHELL", "..."] runs in a shell. */
  test: z
    .array(z.string())
    .min(2, 'expected ["CMD", ...args] or ["CMD-SHELL", "command"]')
    .refine((t) => t[0] === 'CMD' || t[0] === 'CMD-SHELL', 'expected the first element to be "CMD" or "CMD-SHELL"'),
  interval: Duration.default(10_000),
  timeout: Duration.default(5_000),
  retries: z.number().int().min(1).max(100).default(3),
  startPeriod: Duration.default(0),
});

const ResourceAmounts = z.strictObject({
  /** CPU cores, fractional allowed (0.5 = half a core). */
  cpus: z.number().positive('expected a positive number of CPUs').max(1024).optional(),
  /** Memory in bytes. */
  memoryBytes: z.number().int().positive('expected a positive number of bytes').optional(),
});

export const Resources = z.strictObject({
  limits: ResourceAmounts.optional(),
  reservations: ResourceAmounts.optional(),
});

const FailureRatio = z.number().min(0, 'expected a ratio 0-1').max(1, 'expected a ratio 0-1');

export const UpdateOrder = z.enum(['stop-first', 'start-first']);

/** The fields of a rollout policy, without defaults: the policies below add them, a patch does not. */
const rolloutFields = {
  /** Replicas replaced at once; 0 means all at once. */
  parallelism: z.number().int().min(0).max(1000),
  /** Pause between batches. */
  delay: Duration,
  order: UpdateOrder,
  /** How long a new replica is watched for failure after it starts. */
  monitor: Duration,
  /** Fraction of replicas that may fail during the update before failureAction applies. */
  maxFailureRatio: FailureRatio,
};
const UpdateFailureAction = z.enum(['pause', 'continue', 'rollback']);
const RollbackFailureAction = z.enum(['pause', 'continue']);

/** How a changed service replaces its replicas. Swarm: UpdateConfig 1:1. Kubernetes: see ARCHITECTURE.md. */
export const UpdatePolicy = z.strictObject({
  parallelism: rolloutFields.parallelism.default(1),
  delay: rolloutFields.delay.default(0),
  order: rolloutFields.order.default('stop-first'),
  failureAction: UpdateFailureAction.default('pause'),
  monitor: rolloutFields.monitor.default(5_000),
  maxFailureRatio: rolloutFields.maxFailureRatio.default(0),
});

export const RollbackPolicy = z.strictObject({
  parallelism: rolloutFields.parallelism.default(1),
  delay: rolloutFields.delay.default(0),
  order: rolloutFields.order.default('stop-first'),
  failureAction: RollbackFailureAction.default('pause'),
  monitor: rolloutFields.monitor.default(5_000),
  maxFailureRatio: rolloutFields.maxFailureRatio.default(0),
});

/**
 * Some fields of an update policy, and nothing else: no field gets a default, so merging a patch
 * onto the stored policy changes only what the patch names (`UpdatePolicy.partial()` would fill
 * every default in and overwrite the rest).
 */
export const UpdatePolicyPatch = z.strictObject({
  parallelism: rolloutFields.parallelism.optional(),
  delay: rolloutFields.delay.optional(),
  order: rolloutFields.order.optional(),
  failureAction: UpdateFailureAction.optional(),
  monitor: rolloutFields.monitor.optional(),
  maxFailureRatio: rolloutFields.maxFailureRatio.optional(),
});

const ContainerPath = z.string().startsWith('/', 'expected an absolute path in the container');

/** The four kinds of storage, named the same for both orchestrators. */
export const VolumeMount = z.discriminatedUnion(
  'type',
  [
    /** Scratch space that lives and dies with the replica (no mount on Swarm, emptyDir on Kubernetes). */
    z.strictObject({ type: z.literal('implicit'), target: ContainerPath }),
    /** A volume owned by the service; for a stateful service, one per replica. */
    z.strictObject({
      type: z.literal('named'),
      source: DnsLabel,
      target: ContainerPath,
      readOnly: z.boolean().default(false),
    }),
    /** A directory of the node the replica runs on. */
    z.strictObject({
      type: z.literal('hostPath'),
      source: z.string().startsWith('/', 'expected an absolute path on the node'),
      target: ContainerPath,
      readOnly: z.boolean().default(false),
    }),
    /** One volume reachable from every node (NFS, a volume plugin, ReadWriteMany storage); declared under the app's `volumes`. */
    z.strictObject({
      type: z.literal('shared'),
      source: DnsLabel,
      target: ContainerPath,
      readOnly: z.boolean().default(false),
    }),
  ],
  { error: 'expected a volume with type "implicit", "named", "hostPath" or "shared"' },
);

/** App-level volume settings: required for shared volumes, optional sizing for named ones. */
export const VolumeDefinition = z.strictObject({
  /** Swarm volume driver ("local" with NFS options, or a plugin). */
  driver: z.string().min(1).optional(),
  driverOptions: StringMap.optional(),
  /** Kubernetes storage class for the claim. */
  storageClass: z.string().min(1).optional(),
  /** Requested capacity, e.g. "1Gi" (Kubernetes claims; informational on Swarm). */
  size: z
    .string()
    .regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/, 'expected a quantity like "512Mi" or "10Gi"')
    .default('1Gi'),
  labels: LabelMap.optional(),
});

/** Berth's name for one stored value of a secret: 12 hex digits, new for every new value. */
export const SecretVersion = z.string().regex(/^[0-9a-f]{12}$/, 'expected a secret version (12 hex digits) as Berth reports it');

/**
 * An app-level secret. Write-only: a `value` is sealed by Berth (or handed to the orchestrator's
 * secret store) and never returned; what the API shows, and what revisions record, is its `version`.
 * `{}` keeps the value stored last; `{ "version": ... }` pins an earlier one.
 */
export const SecretDefinition = z
  .strictObject({
    value: z
      .string({ error: 'expected the secret value as a string' })
      .min(1, 'expected a non-empty secret value')
      .max(500 * 1024, 'a secret value is at most 500 KiB (the Swarm limit)')
      .optional(),
    version: SecretVersion.optional(),
  })
  .refine((s) => s.value === undefined || s.version === undefined, 'give either "value" (a new value) or "version" (a stored one), not both');

/** Where a service reads a secret: a file under /run/secrets on both orchestrators. */
export const SecretMount = z.strictObject({
  /** The app-level secret. */
  source: DnsLabel,
  /** File name under /run/secrets (default: the source name). */
  target: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/, 'expected a file name under /run/secrets: letters, digits, ".", "_" and "-", no "/"')
    .optional(),
  /** File mode, e.g. 0o400 = 256 (default 0o444 = 292, readable by a non-root user). */
  mode: z.number().int().min(0).max(0o777, 'expected a file mode 0-0o777 (511)').default(0o444),
  /** Filled in by Berth from the app-level secret (a sent value is replaced). */
  version: SecretVersion.optional(),
});

/** The directory secrets are mounted in. */
export const SECRETS_DIR = '/run/secrets';

export const Placement = z.strictObject({
  /** Swarm-style constraints: "node.labels.zone==a", "node.role!=manager", "node.hostname==x". */
  constraints: z.array(z.string().regex(/^[\w.-]+\s*(==|!=)\s*\S+$/, 'expected a constraint like "node.labels.zone==a"')).default([]),
  maxReplicasPerNode: z.number().int().min(1).optional(),
});

/**
 * A Linux capability as Docker and Kubernetes name it, with or without "CAP_": stored without the
 * prefix, upper case ("NET_ADMIN"); "ALL" is every capability.
 */
export const Capability = z
  .string()
  .regex(/^(CAP_)?[A-Za-z_]{2,40}$/i, 'expected a capability name like "NET_ADMIN" (or "ALL")')
  .transform((c) => c.toUpperCase().replace(/^CAP_/, ''));

/** A device of the node made available in the container (Compose `devices`). */
export const DeviceMapping = z.strictObject({
  source: z.string().startsWith('/', 'expected an absolute path on the node, like "/dev/fuse"'),
  /** Where it appears in the container (default: the same path). */
  target: ContainerPath.optional(),
  /** Cgroup permissions: r(ead), w(rite), m(knod). */
  permissions: z
    .string()
    .regex(/^[rwm]{1,3}$/, 'expected some of "r", "w", "m"')
    .default('rwm'),
});

export const RestartPolicy = z.strictObject({
  condition: z.enum(['none', 'on-failure', 'any']).default('any'),
  maxAttempts: z.number().int().min(0).optional(),
  delay: Duration.optional(),
});

export const ServiceSpec = z
  .strictObject({
    image: z.string().min(1, 'expected an image reference'),
    entrypoint: z.array(z.string()).optional(),
    command: z.array(z.string()).optional(),
    env: StringMap.default({}),
    ports: z.array(PortSpec).default([]),
    labels: LabelMap.default({}),
    healthCheck: HealthCheck.optional(),
    resources: Resources.optional(),
    mode: z.enum(['replicated', 'global']).default('replicated'),
    replicas: z.number().int('expected a whole number of replicas').min(0).max(10_000).default(1),
    /** Stable identity and per-replica storage: replicas NAME-0, NAME-1, ... each resolvable by that name with its own volumes (a StatefulSet with per-member Services on Kubernetes, one service per member on Swarm), updated one member at a time. */
    stateful: z.boolean().default(false),
    /** Stable hostname; for stateful services the replica's ordinal is appended. */
    hostname: DnsLabel.optional(),
    volumes: z.array(VolumeMount).default([]),
    /** Secrets of the app mounted as files under /run/secrets. */
    secrets: z.array(SecretMount).default([]),
    placement: Placement.optional(),
    update: UpdatePolicy.optional(),
    rollback: RollbackPolicy.optional(),
    restart: RestartPolicy.optional(),
    stopGracePeriod: Duration.optional(),
    workingDir: ContainerPath.optional(),
    user: z.string().min(1).optional(),
    // Node-level powers. Each is refused by a cluster's workload policy unless an admin allows it;
    // they are optional (no defaults) so that specs written before they existed keep their hash.
    /** Every capability and the node's devices (Kubernetes securityContext.privileged; Swarm services cannot). */
    privileged: z.boolean().optional(),
    /** Capabilities added to the runtime's default set. */
    capAdd: z.array(Capability).optional(),
    /** Capabilities removed from it (always allowed). */
    capDrop: z.array(Capability).optional(),
    /** Use the node's network stack instead of the app network. */
    hostNetwork: z.boolean().optional(),
    /** See the node's processes (Kubernetes hostPID; Swarm services cannot). */
    hostPid: z.boolean().optional(),
    /** Share the node's IPC namespace (Kubernetes hostIPC; Swarm services cannot). */
    hostIpc: z.boolean().optional(),
    /** Devices of the node (Kubernetes: a hostPath mount of the device; Swarm services cannot). */
    devices: z.array(DeviceMapping).optional(),
  })
  .superRefine((svc, ctx) => {
    if (svc.mode === 'global' && svc.stateful) {
      ctx.addIssue({ code: 'custom', path: ['stateful'], message: 'a global service cannot be stateful: use mode "replicated"' });
    }
    const targets = new Set<string>();
    svc.volumes.forEach((v, i) => {
      if (targets.has(v.target)) ctx.addIssue({ code: 'custom', path: ['volumes', i, 'target'], message: `mounted twice at "${v.target}"` });
      targets.add(v.target);
      if (svc.secrets.length && (v.target === SECRETS_DIR || v.target.startsWith(`${SECRETS_DIR}/`))) {
        ctx.addIssue({ code: 'custom', path: ['volumes', i, 'target'], message: `${SECRETS_DIR} holds the service's secrets: mount the volume elsewhere` });
      }
    });
    const files = new Set<string>();
    svc.secrets.forEach((s, i) => {
      const file = s.target ?? s.source;
      if (files.has(file)) ctx.addIssue({ code: 'custom', path: ['secrets', i, 'target'], message: `${SECRETS_DIR}/${file} is mounted twice` });
      files.add(file);
    });
    const published = new Set<string>();
    svc.ports.forEach((p, i) => {
      if (p.published === undefined) return;
      const key = `${p.published}/${p.protocol}`;
      if (published.has(key)) ctx.addIssue({ code: 'custom', path: ['ports', i, 'published'], message: `port ${key} is published twice` });
      published.add(key);
    });
  });

export const AppSpec = z
  .strictObject({
    name: ShortName,
    services: z.record(ShortName, ServiceSpec).refine((s) => Object.keys(s).length > 0, 'expected at least one service'),
    volumes: z.record(DnsLabel, VolumeDefinition).default({}),
    /** Write-only secret values, mounted by services that list them under their own `secrets`. */
    secrets: z.record(DnsLabel, SecretDefinition).default({}),
    labels: LabelMap.default({}),
  })
  .superRefine((app, ctx) => {
    // Members of a stateful service are addressed as "<service>-<ordinal>" on every orchestrator.
    const stateful = Object.entries(app.services).filter(([, svc]) => svc.stateful);
    for (const name of Object.keys(app.services)) {
      const owner = stateful.find(([s]) => name.startsWith(`${s}-`) && /^\d+$/.test(name.slice(s.length + 1)))?.[0];
      if (owner)
        ctx.addIssue({
          code: 'custom',
          path: ['services', name],
          message: `"${name}" is the name of a member of the stateful service "${owner}" (its members are ${owner}-0, ${owner}-1, ...): rename the service`,
        });
    }
    for (const [name, svc] of Object.entries(app.services)) {
      svc.secrets.forEach((s, i) => {
        if (!app.secrets[s.source]) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', name, 'secrets', i, 'source'],
            message: `secret "${s.source}" is not declared under the app's "secrets"`,
          });
        }
      });
      svc.volumes.forEach((v, i) => {
        if (v.type === 'shared' && !app.volumes[v.source]) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', name, 'volumes', i, 'source'],
            message: `shared volume "${v.source}" is not declared under the app's "volumes" (a shared volume needs a driver or a storage class)`,
          });
        }
        if (v.type === 'shared') {
          const def = app.volumes[v.source];
          if (def && !def.driver && !def.storageClass) {
            ctx.addIssue({
              code: 'custom',
              path: ['volumes', v.source],
              message: 'a shared volume needs a "driver" (Swarm) or a "storageClass" (Kubernetes)',
            });
          }
        }
      });
    }
  });

export const JobSpec = z.strictObject({
  name: ShortName,
  /** The app (namespace) the job runs in; jobs without one run in Berth's default namespace. */
  app: ShortName.optional(),
  image: z.string().min(1, 'expected an image reference'),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  env: StringMap.default({}),
  labels: LabelMap.default({}),
  resources: Resources.optional(),
  /** Replicas running at once. */
  parallelism: z.number().int().min(1).max(1000).default(1),
  /** Successful runs needed for the job to complete. */
  completions: z.number().int().min(1).max(10_000).default(1),
  /** Failed runs tolerated before the job fails. */
  backoffLimit: z.number().int().min(0).max(100).default(0),
  /** The job fails when it runs longer than this. */
  timeout: Duration.optional(),
  volumes: z.array(VolumeMount).default([]),
  /** Where the job's replicas may run, as for a service (constraints on node labels and hostnames). */
  placement: Placement.optional(),
});

export type AppSpec = z.output<typeof AppSpec>;
export type AppSpecInput = z.input<typeof AppSpec>;
export type ServiceSpec = z.output<typeof ServiceSpec>;
export type ServiceSpecInput = z.input<typeof ServiceSpec>;
export type PortSpec = z.output<typeof PortSpec>;
export type HealthCheck = z.output<typeof HealthCheck>;
export type Resources = z.output<typeof Resources>;
export type UpdatePolicy = z.output<typeof UpdatePolicy>;
export type UpdatePolicyInput = z.input<typeof UpdatePolicy>;
export type RollbackPolicy = z.output<typeof RollbackPolicy>;
export type UpdatePolicyPatch = z.output<typeof UpdatePolicyPatch>;
export type VolumeMount = z.output<typeof VolumeMount>;
export type VolumeDefinition = z.output<typeof VolumeDefinition>;
export type Placement = z.output<typeof Placement>;
export type RestartPolicy = z.output<typeof RestartPolicy>;
export type JobSpec = z.output<typeof JobSpec>;
export type SecretDefinition = z.output<typeof SecretDefinition>;
export type SecretMount = z.output<typeof SecretMount>;
export type JobSpecInput = z.input<typeof JobSpec>;
export type DeviceMapping = z.output<typeof DeviceMapping>;

/** Policy defaults, applied where a service gives none. */
export const DEFAULT_UPDATE_POLICY: UpdatePolicy = UpdatePolicy.parse({});
export const DEFAULT_ROLLBACK_POLICY: RollbackPolicy = RollbackPolicy.parse({});

/** The update policy a service rolls with: the one place defaults are resolved, for the gateway and every driver. */
export function updatePolicyOf(svc: { update?: UpdatePolicy }): UpdatePolicy {
  return svc.update ?? DEFAULT_UPDATE_POLICY;
}

/** The policy a rollback of the service rolls with. */
export function rollbackPolicyOf(svc: { rollback?: RollbackPolicy }): RollbackPolicy {
  return svc.rollback ?? DEFAULT_ROLLBACK_POLICY;
}

/** The service's update policy with the fields `patch` names replaced, and only those. */
export function patchUpdatePolicy(svc: { update?: UpdatePolicy }, patch: UpdatePolicyPatch): UpdatePolicy {
  const named = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  return { ...updatePolicyOf(svc), ...named };
}

/** A secret reference the drivers can write: the app's secret at one stored version. */
export interface ResolvedSecretMount extends SecretMount {
  version: string;
}

/**
 * Drivers only ever see secrets by version: a spec still carrying a value, or a mount without a
 * version, did not come through Berth's secret store and is refused.
 */
export function unresolvedSecrets(spec: AppSpec): string[] {
  const problems: string[] = [];
  for (const [name, def] of Object.entries(spec.secrets)) {
    if (def.value !== undefined || def.version === undefined) problems.push(`secrets.${name}: expected a stored version, not a value`);
  }
  for (const [name, svc] of Object.entries(spec.services)) problems.push(...unversionedMounts(svc, `services.${name}`));
  return problems;
}

export function unversionedMounts(svc: Pick<ServiceSpec, 'secrets'>, path: string): string[] {
  return svc.secrets.flatMap((s, i) => (s.version === undefined ? [`${path}.secrets[${i}]: secret "${s.source}" has no version`] : []));
}
