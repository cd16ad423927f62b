import { z } from 'zod';
import { type AppSpec, Capability, DnsLabel, type JobSpec, type ServiceSpec, type VolumeDefinition, type VolumeMount } from './app-spec.js';

/**
 * A cluster's workload policy: what a token below admin may ask the node to give a workload.
 * Everything that reaches past the container (host paths, privileged mode, added capabilities,
 * the node's namespaces, devices, low host ports) is refused unless allowed here; the default
 * (`{}`) is in the spirit of Kubernetes' Pod Security "baseline" level.
 */

const HostPrefix = z
  .string()
  .startsWith('/', 'expected an absolute path on the node')
  .refine((p) => !p.split('/').some((seg) => seg === '..' || seg === '.'), 'expected a path without "." or ".." segments');

export const HostPathAllowance = z.strictObject({
  /** Mounts of this directory or anything below it are allowed (compared segment by segment: "/srv/data" does not cover "/srv/database"). */
  prefix: HostPrefix,
  /** Mounts under it must be read-only. */
  readOnly: z.boolean().default(false),
});

/** An image repository or registry, compared after Docker's normalisation ("nginx" is "docker.io/library/nginx"). */
const ImageSource = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._:/-]*$/i, 'expected a registry ("ghcr.io") or a repository prefix ("ghcr.io/acme", "docker.io/library/nginx")');

/** What may be allowed: for the whole cluster, and additionally for single apps. */
export const WorkloadAllowances = z.strictObject({
  hostPaths: z.array(HostPathAllowance).default([]),
  privileged: z.boolean().default(false),
  /** Capabilities that may be added beyond the baseline set ("ALL" allows any). */
  capabilities: z.array(Capability).default([]),
  hostNetwork: z.boolean().default(false),
  hostPid: z.boolean().default(false),
  hostIpc: z.boolean().default(false),
  devices: z.boolean().default(false),
  /** Host-mode published ports below 1024 (they take the node's privileged ports). */
  lowHostPorts: z.boolean().default(false),
});

export const WorkloadPolicy = WorkloadAllowances.extend({
  /** When set, images only from these registries or repositories; any image when absent. */
  images: z.array(ImageSource).optional(),
  /** Allowances added for single apps (they widen the cluster's, never narrow them). */
  apps: z.record(DnsLabel, WorkloadAllowances.partial()).default({}),
}).strict();

export type WorkloadPolicy = z.output<typeof WorkloadPolicy>;
export type WorkloadPolicyInput = z.input<typeof WorkloadPolicy>;
export type WorkloadAllowances = z.output<typeof WorkloadAllowances>;

/** The policy of a cluster nobody configured. */
export const DEFAULT_WORKLOAD_POLICY: WorkloadPolicy = WorkloadPolicy.parse({});

/**
 * Capabilities Docker and containerd grant by default; adding one again changes nothing, and
 * Kubernetes' baseline level allows them.
 */
export const BASELINE_CAPABILITIES: readonly string[] = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

/**
 * Host paths no allowance reaches: the node's root, its kernel interfaces, the container engines'
 * and the kubelet's sockets and state (which hold every other app's volumes and secrets). A path
 * inside one of them, or one that contains one (like "/var"), is refused.
 */
export const PROTECTED_HOST_PATHS: readonly string[] = [
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/run/containerd',
  '/var/run/containerd',
  '/run/crio',
  '/var/run/crio',
  '/run/podman',
  '/var/lib/docker',
  '/var/lib/containerd',
  '/var/lib/kubelet',
  '/var/lib/rancher',
  '/var/lib/cri-o',
  '/etc/kubernetes',
  '/run/k3s',
];

/** The rules a refusal can name. */
export type PolicyRule =
  | 'hostPath.root'
  | 'hostPath.protected'
  | 'hostPath.dotSegments'
  | 'hostPath.notAllowed'
  | 'hostPath.readOnly'
  | 'privileged'
  | 'capabilities'
  | 'hostNetwork'
  | 'hostPid'
  | 'hostIpc'
  | 'devices'
  | 'lowHostPorts'
  | 'images';

export interface PolicyViolation {
  /** The field of the request that breaks the rule: "services.web.volumes[0].source". */
  path: string;
  rule: PolicyRule;
  message: string;
}

/** Lexical normal form of an absolute path: no duplicate or trailing "/", "." and ".." resolved. */
export function normalizeHostPath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** `path` is `prefix` or below it, segment by segment (both normalised). */
export function underPrefix(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
}

/** The cluster's allowances widened by the app's own. */
export function allowancesFor(policy: WorkloadPolicy, app: string | undefined): WorkloadAllowances {
  const extra = (app !== undefined ? policy.apps[app] : undefined) ?? {};
  return {
    hostPaths: [...policy.hostPaths, ...(extra.hostPaths ?? [])],
    privileged: policy.privileged || !!extra.privileged,
    capabilities: [...policy.capabilities, ...(extra.capabilities ?? [])],
    hostNetwork: policy.hostNetwork || !!extra.hostNetwork,
    hostPid: policy.hostPid || !!extra.hostPid,
    hostIpc: policy.hostIpc || !!extra.hostIpc,
    devices: policy.devices || !!extra.devices,
    lowHostPorts: policy.lowHostPorts || !!extra.lowHostPorts,
  };
}

const ASK = "an admin can allow it in the cluster's workload policy (PUT /v1/clusters/{cluster}/policy)";

/** One host directory mounted into a workload, as the policy sees it. */
function checkHostPath(source: string, readOnly: boolean, path: string, allow: WorkloadAllowances, out: PolicyViolation[]): void {
  if (source.split('/').some((seg) => seg === '..' || seg === '.')) {
    out.push({ path, rule: 'hostPath.dotSegments', message: `host path "${source}" has "." or ".." segments: write it as "${normalizeHostPath(source)}"` });
    return;
  }
  const normal = normalizeHostPath(source);
  if (normal === '/') {
    out.push({ path, rule: 'hostPath.root', message: "the node's root directory can never be mounted" });
    return;
  }
  const guarded = PROTECTED_HOST_PATHS.find((p) => underPrefix(normal, p) || underPrefix(p, normal));
  if (guarded) {
    out.push({
      path,
      rule: 'hostPath.protected',
      message: `host path "${normal}" ${normal === guarded || underPrefix(normal, guarded) ? 'is' : 'contains'} "${guarded}", which holds the node's kernel interfaces or the orchestrator's sockets and state: it can never be mounted`,
    });
    return;
  }
  const covering = allow.hostPaths.filter((a) => underPrefix(normal, normalizeHostPath(a.prefix)));
  if (!covering.length) {
    out.push({ path, rule: 'hostPath.notAllowed', message: `host path "${normal}" is not under a host path this app may mount; ${ASK}` });
    return;
  }
  if (!readOnly && covering.every((a) => a.readOnly)) {
    out.push({ path, rule: 'hostPath.readOnly', message: `host path "${normal}" may only be mounted read-only here: set "readOnly": true` });
  }
}

function checkMounts(volumes: readonly VolumeMount[], path: string, allow: WorkloadAllowances, out: PolicyViolation[]): void {
  volumes.forEach((v, i) => {
    if (v.type === 'hostPath') checkHostPath(v.source, v.readOnly, `${path}.volumes[${i}].source`, allow, out);
  });
}

/**
 * A volume of the local driver with `o=bind` (or `type=none`) is a host directory under another
 * name; it gets the same rules as a hostPath mount.
 */
function checkVolumeDefinition(def: Pick<VolumeDefinition, 'driver' | 'driverOptions'>, path: string, allow: WorkloadAllowances, out: PolicyViolation[]): void {
  if (def.driver !== undefined && def.driver !== 'local') return;
  const opts = def.driverOptions ?? {};
  const o = (opts.o ?? '').split(',').map((x) => x.trim());
  const bind = o.includes('bind') || o.includes('rbind') || opts.type === 'none';
  if (!bind) return;
  const device = opts.device;
  if (device === undefined || !device.startsWith('/')) {
    out.push({ path: `${path}.driverOptions`, rule: 'hostPath.notAllowed', message: 'a bind volume needs "device" as an absolute host path' });
    return;
  }
  checkHostPath(device, o.includes('ro'), `${path}.driverOptions.device`, allow, out);
}

/** Docker's normal form of an image's repository: "nginx:1" -> "docker.io/library/nginx". */
export function imageRepository(image: string): string {
  let name = image.split('@')[0]!;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) name = name.slice(0, colon);
  const parts = name.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) return parts.length === 1 ? `docker.io/library/${name}` : `docker.io/${name}`;
  return first === 'index.docker.io' ? `docker.io/${parts.slice(1).join('/')}` : name;
}

/** "ghcr.io" (a registry) or "ghcr.io/acme" / "nginx" (repositories), in the same normal form. */
function normalSource(source: string): string {
  const parts = source.replace(/\/+$/, '').split('/');
  const first = parts[0]!;
  if (parts.length === 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return imageRepository(source);
}

function checkImage(image: string, path: string, policy: WorkloadPolicy, out: PolicyViolation[]): void {
  if (!policy.images) return;
  const repo = imageRepository(image);
  if (policy.images.some((s) => underPrefix(`/${repo}`, `/${normalSource(s)}`))) return;
  out.push({ path, rule: 'images', message: `image "${image}" (${repo}) is not from a registry or repository this cluster allows; ${ASK}` });
}

type NodeAccess = Pick<ServiceSpec, 'privileged' | 'capAdd' | 'hostNetwork' | 'hostPid' | 'hostIpc' | 'devices' | 'ports'>;

function checkNodeAccess(svc: NodeAccess, path: string, allow: WorkloadAllowances, out: PolicyViolation[]): void {
  if (svc.privileged && !allow.privileged) {
    out.push({ path: `${path}.privileged`, rule: 'privileged', message: `a privileged container controls the node; ${ASK}` });
  }
  const allowed = new Set([...BASELINE_CAPABILITIES, ...allow.capabilities]);
  (svc.capAdd ?? []).forEach((cap, i) => {
    if (allow.capabilities.includes('ALL') || (cap !== 'ALL' && allowed.has(cap))) return;
    out.push({ path: `${path}.capAdd[${i}]`, rule: 'capabilities', message: `adding capability ${cap} is not allowed here; ${ASK}` });
  });
  const flags = [
    ['hostNetwork', "the node's network"],
    ['hostPid', "the node's processes"],
    ['hostIpc', "the node's IPC namespace"],
  ] as const;
  for (const [flag, what] of flags) {
    if (svc[flag] && !allow[flag]) out.push({ path: `${path}.${flag}`, rule: flag, message: `${what} is not available to this app; ${ASK}` });
  }
  if (svc.devices?.length && !allow.devices) {
    out.push({ path: `${path}.devices`, rule: 'devices', message: `devices of the node are not available to this app; ${ASK}` });
  }
  (svc.ports ?? []).forEach((p, i) => {
    const hostPort = p.published ?? p.target;
    if (p.mode === 'host' && hostPort < 1024 && !allow.lowHostPorts) {
      out.push({
        path: `${path}.ports[${i}].${p.published !== undefined ? 'published' : 'target'}`,
        rule: 'lowHostPorts',
        message: `host port ${hostPort} is below 1024 (the node's privileged ports): publish a port from 1024 up, use mode "ingress", or ${ASK.replace('an admin can', 'ask an admin to')}`,
      });
    }
  });
}

/**
 * Everything in an app spec the policy refuses, one entry per field. `services` limits the check
 * to the services a change writes (a service update must not fail because of another service).
 */
export function checkAppSpec(spec: AppSpec, policy: WorkloadPolicy, services?: readonly string[]): PolicyViolation[] {
  const allow = allowancesFor(policy, spec.name);
  const out: PolicyViolation[] = [];
  const names = services ?? Object.keys(spec.services);
  const mounted = new Set<string>();
  for (const name of names) {
    const svc = spec.services[name];
    if (!svc) continue;
    const path = `services.${name}`;
    checkImage(svc.image, `${path}.image`, policy, out);
    checkMounts(svc.volumes, path, allow, out);
    checkNodeAccess(svc, path, allow, out);
    for (const v of svc.volumes) if (v.type === 'named' || v.type === 'shared') mounted.add(v.source);
  }
  for (const [name, def] of Object.entries(spec.volumes)) {
    if (services === undefined || mounted.has(name)) checkVolumeDefinition(def, `volumes.${name}`, allow, out);
  }
  return out;
}

export function checkJobSpec(job: JobSpec, policy: WorkloadPolicy): PolicyViolation[] {
  const allow = allowancesFor(policy, job.app);
  const out: PolicyViolation[] = [];
  checkImage(job.image, 'image', policy, out);
  checkMounts(job.volumes, '', allow, out);
  // the mounts' paths start with "." for a job's top-level fields
  return out.map((v) => ({ ...v, path: v.path.replace(/^\./, '') }));
}

export function checkVolumeCreate(app: string, def: Pick<VolumeDefinition, 'driver' | 'driverOptions'>, policy: WorkloadPolicy): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  checkVolumeDefinition(def, '', allowancesFor(policy, app), out);
  return out.map((v) => ({ ...v, path: v.path.replace(/^\./, '') }));
}

/** The Pod Security Standards level a set of pods needs. */
export type PodSecurityLevel = 'baseline' | 'privileged';

/**
 * The Pod Security Admission level a Kubernetes namespace needs for these workloads: "baseline"
 * unless one of them uses what baseline forbids (host paths, host namespaces, host ports,
 * privileged mode, capabilities beyond the default set). Berth only writes such workloads when
 * the policy allowed them, so the namespace is "privileged" exactly when an admin said so.
 */
export function podSecurityLevel(workloads: readonly (Partial<NodeAccess> & { volumes: readonly VolumeMount[] })[]): PodSecurityLevel {
  const baseline = new Set(BASELINE_CAPABILITIES);
  const beyond = workloads.some(
    (w) =>
      w.privileged ||
      w.hostNetwork ||
      w.hostPid ||
      w.hostIpc ||
      !!w.devices?.length ||
      (w.capAdd ?? []).some((c) => !baseline.has(c)) ||
      w.volumes.some((v) => v.type === 'hostPath') ||
      (w.ports ?? []).some((p) => p.mode === 'host'),
  );
  return beyond ? 'privileged' : 'baseline';
}
