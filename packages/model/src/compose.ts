import { parse as parseShell } from 'shell-quote';
import { parseDocument } from 'yaml';
import { AppSpec, SECRETS_DIR, type AppSpecInput, type ServiceSpecInput } from './app-spec.js';
import { parseDuration } from './duration.js';
import { type SpecIssue, SpecValidationError, formatPath, parseOrThrow } from './validation.js';

/** Something in the Compose file that the unified model could not carry, and what happened to it. */
export interface ComposeWarning {
  path: string;
  message: string;
}

export interface ComposeImport {
  spec: AppSpec;
  warnings: ComposeWarning[];
}

export interface ComposeImportOptions {
  /** App name; falls back to the file's top-level `name`. */
  name?: string;
  /** Values for `${VAR}` interpolation; unset variables are reported. */
  env?: Record<string, string | undefined>;
}

type Obj = Record<string, unknown>;
type SecretMountInput = NonNullable<ServiceSpecInput['secrets']>[number];
type Path = (string | number)[];

/** How Compose names that are not DNS labels ("db_data") are renamed: lowercased, other characters as "-". */
export const toDnsLabel = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys handled by the mapping below; anything else under a service is reported and dropped. */
const SERVICE_KEYS = new Set([
  'image',
  'command',
  'entrypoint',
  'environment',
  'ports',
  'labels',
  'healthcheck',
  'deploy',
  'volumes',
  'hostname',
  'working_dir',
  'user',
  'stop_grace_period',
  'restart',
  'networks',
  'expose',
  'depends_on',
  'x-berth',
  'container_name',
  'tmpfs',
  'privileged',
  'cap_add',
  'cap_drop',
  'network_mode',
  'pid',
  'ipc',
  'devices',
]);
const DEPLOY_KEYS = new Set(['mode', 'replicas', 'resources', 'placement', 'update_config', 'rollback_config', 'restart_policy', 'labels', 'endpoint_mode']);
const TOP_KEYS = new Set(['version', 'name', 'services', 'volumes', 'networks', 'secrets', 'configs']);

class Importer {
  readonly warnings: ComposeWarning[] = [];
  readonly errors: SpecIssue[] = [];

  constructor(private readonly env: Record<string, string | undefined>) {}

  warn(path: Path, message: string): void {
    this.warnings.push({ path: formatPath(path), message });
  }

  error(path: Path, message: string): void {
    this.errors.push({ path: formatPath(path), message });
  }

  /** Compose allows names that are not DNS labels ("db_data"); both orchestrators need labels. */
  dnsName(name: string, path: Path, what: string): string {
    const fixed = toDnsLabel(name);
    if (fixed !== name)
      this.warn(path, `${what} "${name}" renamed to "${fixed}": names must be DNS labels (references to the old name in values are not rewritten)`);
    return fixed;
  }

  /** Compose `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$$` interpolation over every string. */
  interpolate(value: unknown, path: Path): unknown {
    if (typeof value === 'string') {
      return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced, op, def, bare) => {
        if (m === '$$') return '$';
        const name = (braced ?? bare) as string;
        const val = this.env[name];
        if (op === ':-' && !val) return def as string;
        if (op === '-' && val === undefined) return def as string;
        if (val === undefined) {
          this.warn(path, `variable "${name}" is not set; substituted an empty string`);
          return '';
        }
        return val;
      });
    }
    if (Array.isArray(value)) return value.map((v, i) => this.interpolate(v, [...path, i]));
    if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.interpolate(v, [...path, k])]));
    return value;
  }

  words(value: unknown, path: Path): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value.map(String);
    if (typeof value === 'string') {
      const parts = parseShell(value);
      if (parts.some((p) => typeof p !== 'string')) {
        this.warn(path, 'shell operators are not interpreted; use ["sh", "-c", "..."] to run a shell');
      }
      return parts.map((p) => (typeof p === 'string' ? p : 'op' in p ? p.op : String(p)));
    }
    this.error(path, 'expected a string or a list of strings');
    return undefined;
  }

  keyValues(value: unknown, path: Path): Record<string, string> {
    const out: Record<string, string> = {};
    if (value === undefined || value === null) return out;
    if (Array.isArray(value)) {
      value.forEach((entry, i) => {
        const text = String(entry);
        const eq = text.indexOf('=');
        if (eq < 0) {
          const fromEnv = this.env[text];
          if (fromEnv === undefined) this.warn([...path, i], `"${text}" has no value and is not set in the import environment; dropped`);
          else out[text] = fromEnv;
        } else out[text.slice(0, eq)] = text.slice(eq + 1);
      });
      return out;
    }
    if (isObj(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (v === null || v === undefined) {
          const fromEnv = this.env[k];
          if (fromEnv === undefined) this.warn([...path, k], 'has no value and is not set in the import environment; dropped');
          else out[k] = fromEnv;
        } else out[k] = String(v);
      }
      return out;
    }
    this.error(path, 'expected a list of "KEY=value" or a map');
    return out;
  }

  duration(value: unknown, path: Path): number | undefined {
    if (value === undefined || value === null) return undefined;
    const ms = typeof value === 'number' ? value * 1000 : parseDuration(String(value));
    if (ms === undefined) this.error(path, `expected a duration like "10s", got "${String(value)}"`);
    return ms;
  }

  bytes(value: unknown, path: Path): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number') return value;
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)?$/i.exec(String(value).trim());
    if (!m) {
      this.error(path, `expected a size like "512M" or "1G", got "${String(value)}"`);
      return undefined;
    }
    const power = ['', 'k', 'm', 'g', 't'].indexOf(m[2]!.toLowerCase());
    return Math.round(Number(m[1]) * 1024 ** power);
  }

  ports(value: unknown, path: Path): ServiceSpecInput['ports'] {
    if (!Array.isArray(value)) {
      if (value !== undefined) this.error(path, 'expected a list of ports');
      return [];
    }
    const out: NonNullable<ServiceSpecInput['ports']> = [];
    value.forEach((entry, i) => {
      const at = [...path, i];
      if (isObj(entry)) {
        for (const k of Object.keys(entry)) {
          if (!['target', 'published', 'protocol', 'mode', 'host_ip', 'name', 'app_protocol'].includes(k)) this.warn([...at, k], 'not supported; dropped');
        }
        if (entry.host_ip !== undefined) this.warn([...at, 'host_ip'], 'binding to one host address is not supported; the port is published on all addresses');
        out.push({
          target: Number(entry.target),
          published: entry.published === undefined ? undefined : Number(entry.published),
          protocol: (entry.protocol as 'tcp' | 'udp') ?? 'tcp',
          mode: (entry.mode as 'ingress' | 'host') ?? 'ingress',
        });
        return;
      }
      const m = /^(?:(?:(\[[^\]]+\]|[\d.]+):)?(\d+(?:-\d+)?)?:)?(\d+(?:-\d+)?)(?:\/(tcp|udp))?$/.exec(String(entry));
      if (!m) {
        this.error(at, `expected a port like "8080:80" or "80/udp", got "${String(entry)}"`);
        return;
      }
      const [, hostIp, published, target, protocol] = m;
      if (hostIp) this.warn(at, `binding to host address ${hostIp} is not supported; the port is published on all addresses`);
      const range = (text: string | undefined) => (text ? text.split('-').map(Number) : undefined);
      const targets = range(target)!;
      const publisheds = range(published);
      const first = targets[0]!;
      const last = targets[1] ?? first;
      if (publisheds && publisheds.length !== targets.length) {
        this.error(at, 'a published range and a target range must have the same length');
        return;
      }
      for (let p = first; p <= last; p++) {
        out.push({
          target: p,
          published: publisheds ? publisheds[0]! + (p - first) : undefined,
          protocol: (protocol as 'tcp' | 'udp') ?? 'tcp',
        });
      }
    });
    return out;
  }

  healthcheck(value: unknown, path: Path): ServiceSpecInput['healthCheck'] {
    if (!isObj(value)) return undefined;
    if (value.disable === true) return undefined;
    for (const k of Object.keys(value)) {
      if (!['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'].includes(k))
        this.warn([...path, k], 'not supported; dropped');
    }
    if (value.start_interval !== undefined) this.warn([...path, 'start_interval'], 'not supported; the regular interval applies during the start period');
    let test: string[] | undefined;
    if (typeof value.test === 'string') test = ['CMD-SHELL', value.test];
    else if (Array.isArray(value.test)) {
      test = value.test.map(String);
      if (test[0] === 'NONE') return undefined;
    }
    if (!test) {
      this.error([...path, 'test'], 'expected a command');
      return undefined;
    }
    return {
      test,
      interval: this.duration(value.interval, [...path, 'interval']),
      timeout: this.duration(value.timeout, [...path, 'timeout']),
      retries: value.retries === undefined ? undefined : Number(value.retries),
      startPeriod: this.duration(value.start_period, [...path, 'start_period']),
    };
  }

  policy(value: unknown, path: Path, rollback: boolean) {
    if (!isObj(value)) return undefined;
    for (const k of Object.keys(value)) {
      if (!['parallelism', 'delay', 'order', 'failure_action', 'monitor', 'max_failure_ratio'].includes(k)) this.warn([...path, k], 'not supported; dropped');
    }
    const failureAction = value.failure_action as string | undefined;
    if (rollback && failureAction === 'rollback') this.error([...path, 'failure_action'], 'a rollback cannot itself roll back: use "pause" or "continue"');
    return {
      parallelism: value.parallelism === undefined ? undefined : Number(value.parallelism),
      delay: this.duration(value.delay, [...path, 'delay']),
      order: value.order as 'stop-first' | 'start-first' | undefined,
      failureAction: failureAction as 'pause' | 'continue' | 'rollback' | undefined,
      monitor: this.duration(value.monitor, [...path, 'monitor']),
      maxFailureRatio: value.max_failure_ratio === undefined ? undefined : Number(value.max_failure_ratio),
    };
  }

  resources(value: unknown, path: Path): ServiceSpecInput['resources'] {
    if (!isObj(value)) return undefined;
    const amounts = (v: unknown, at: Path) => {
      if (!isObj(v)) return undefined;
      for (const k of Object.keys(v)) {
        if (k !== 'cpus' && k !== 'memory') this.warn([...at, k], 'not supported (only cpus and memory are carried); dropped');
      }
      return {
        cpus: v.cpus === undefined ? undefined : Number(v.cpus),
        memoryBytes: this.bytes(v.memory, [...at, 'memory']),
      };
    };
    for (const k of Object.keys(value)) if (k !== 'limits' && k !== 'reservations') this.warn([...path, k], 'not supported; dropped');
    return { limits: amounts(value.limits, [...path, 'limits']), reservations: amounts(value.reservations, [...path, 'reservations']) };
  }

  volumes(value: unknown, path: Path, declared: Obj): NonNullable<ServiceSpecInput['volumes']> {
    if (!Array.isArray(value)) return [];
    const out: NonNullable<ServiceSpecInput['volumes']> = [];
    const kindOf = (source: string): 'named' | 'shared' => {
      const def = declared[source];
      if (!isObj(def)) return 'named';
      const remote = (def.driver !== undefined && def.driver !== 'local') || def.driver_opts !== undefined;
      return remote ? 'shared' : 'named';
    };
    value.forEach((entry, i) => {
      const at = [...path, i];
      let type: string;
      let source: string | undefined;
      let target: string;
      let readOnly = false;
      if (isObj(entry)) {
        type = String(entry.type ?? 'volume');
        source = entry.source === undefined ? undefined : String(entry.source);
        target = String(entry.target ?? '');
        readOnly = entry.read_only === true;
        for (const k of Object.keys(entry)) {
          if (!['type', 'source', 'target', 'read_only', 'volume', 'bind', 'tmpfs'].includes(k)) this.warn([...at, k], 'not supported; dropped');
        }
        if (isObj(entry.volume) || isObj(entry.bind) || isObj(entry.tmpfs))
          this.warn(at, 'per-mount volume, bind and tmpfs options are not supported; dropped');
      } else {
        const parts = String(entry).split(':');
        if (parts.length === 1) {
          type = 'volume';
          target = parts[0]!;
        } else {
          source = parts[0]!;
          target = parts[1]!;
          const mode = parts[2];
          if (mode) {
            readOnly = mode.split(',').includes('ro');
            const other = mode.split(',').filter((m) => m !== 'ro' && m !== 'rw');
            if (other.length) this.warn(at, `mount options ${other.join(',')} are not supported; dropped`);
          }
          type = /^[./~]/.test(source) ? 'bind' : 'volume';
        }
      }
      if (type === 'tmpfs' || (type === 'volume' && !source)) {
        out.push({ type: 'implicit', target });
        if (type === 'tmpfs') this.warn(at, 'tmpfs is carried as implicit (per-replica scratch) storage');
      } else if (type === 'bind') {
        if (!source || !source.startsWith('/')) {
          this.error(at, `a host path must be absolute on the node, got "${source ?? ''}"`);
          return;
        }
        out.push({ type: 'hostPath', source, target, readOnly });
      } else if (type === 'volume') {
        if (!(source! in declared)) this.error(at, `volume "${source}" is not declared under the top-level "volumes"`);
        out.push({ type: kindOf(source!), source: toDnsLabel(source!), target, readOnly });
      } else {
        this.warn(at, `volume type "${type}" is not supported; dropped`);
      }
    });
    return out;
  }

  service(name: string, raw: unknown, top: Obj): ServiceSpecInput | undefined {
    const path: Path = ['services', name];
    if (!isObj(raw)) {
      this.error(path, 'expected a map');
      return undefined;
    }
    const s = raw;
    for (const k of Object.keys(s)) {
      if (!SERVICE_KEYS.has(k))
        this.warn([...path, k], k === 'build' ? 'building images is not supported: give an "image"; dropped' : 'not supported; dropped');
    }
    if (typeof s.image !== 'string') {
      this.error([...path, 'image'], s.build ? 'required: Berth deploys images and does not build them' : 'required');
      return undefined;
    }
    if (s.depends_on !== undefined) this.warn([...path, 'depends_on'], 'orchestrators do not order start-up; use health checks and retries; dropped');
    if (s.container_name !== undefined) this.warn([...path, 'container_name'], 'replicas are named by the orchestrator; dropped');
    if (s.expose !== undefined) this.warn([...path, 'expose'], 'every port is reachable on the app network without it; dropped');
    if (s.networks !== undefined) {
      const names = Array.isArray(s.networks) ? s.networks : isObj(s.networks) ? Object.keys(s.networks) : [];
      if (names.length > 1 || (isObj(s.networks) && Object.values(s.networks).some((n) => isObj(n)))) {
        this.warn([...path, 'networks'], 'every service of an app joins the one app network; extra networks and aliases are dropped');
      }
    }
    const d = isObj(s.deploy) ? s.deploy : {};
    for (const k of Object.keys(d)) if (!DEPLOY_KEYS.has(k)) this.warn([...path, 'deploy', k], 'not supported; dropped');
    let mode: 'replicated' | 'global' | undefined;
    if (d.mode === 'global') mode = 'global';
    else if (d.mode === undefined || d.mode === 'replicated') mode = 'replicated';
    else this.error([...path, 'deploy', 'mode'], `"${String(d.mode)}" is a job: run it through the jobs API; an app's services are "replicated" or "global"`);
    if (d.endpoint_mode === 'dnsrr')
      this.warn([...path, 'deploy', 'endpoint_mode'], 'endpoint mode is chosen by Berth (dnsrr for stateful services, a virtual IP otherwise)');
    const placement = isObj(d.placement) ? d.placement : undefined;
    if (placement?.preferences !== undefined) this.warn([...path, 'deploy', 'placement', 'preferences'], 'spread preferences are not supported; dropped');
    const restart = this.restart(s.restart, d.restart_policy, path);
    const berth = isObj(s['x-berth']) ? s['x-berth'] : {};
    for (const k of Object.keys(berth)) if (k !== 'stateful') this.warn([...path, 'x-berth', k], 'unknown Berth extension; dropped');
    const volumes = this.volumes(s.volumes, [...path, 'volumes'], isObj(top.volumes) ? top.volumes : {});
    if (s.tmpfs !== undefined) {
      const list = Array.isArray(s.tmpfs) ? s.tmpfs : [s.tmpfs];
      for (const t of list) volumes.push({ type: 'implicit', target: String(t).split(':')[0]! });
    }
    return {
      image: s.image,
      entrypoint: this.words(s.entrypoint, [...path, 'entrypoint']),
      command: this.words(s.command, [...path, 'command']),
      env: this.keyValues(s.environment, [...path, 'environment']),
      ports: this.ports(s.ports, [...path, 'ports']),
      labels: { ...this.keyValues(s.labels, [...path, 'labels']), ...this.keyValues(d.labels, [...path, 'deploy', 'labels']) },
      healthCheck: this.healthcheck(s.healthcheck, [...path, 'healthcheck']),
      resources: this.resources(d.resources, [...path, 'deploy', 'resources']),
      mode,
      replicas: d.replicas === undefined ? undefined : Number(d.replicas),
      stateful: berth.stateful === true ? true : undefined,
      hostname: s.hostname === undefined ? undefined : String(s.hostname),
      volumes,
      placement: placement
        ? {
            constraints: Array.isArray(placement.constraints) ? placement.constraints.map(String) : undefined,
            maxReplicasPerNode: placement.max_replicas_per_node === undefined ? undefined : Number(placement.max_replicas_per_node),
          }
        : undefined,
      update: this.policy(d.update_config, [...path, 'deploy', 'update_config'], false),
      rollback: this.policy(d.rollback_config, [...path, 'deploy', 'rollback_config'], true) as ServiceSpecInput['rollback'],
      restart,
      stopGracePeriod: this.duration(s.stop_grace_period, [...path, 'stop_grace_period']),
      workingDir: s.working_dir === undefined ? undefined : String(s.working_dir),
      user: s.user === undefined ? undefined : String(s.user),
      ...this.nodeAccess(s, path),
    };
  }

  /**
   * privileged, capabilities, the node's namespaces and devices: carried as they are, so that a
   * cluster's workload policy can refuse or allow them; never dropped silently.
   */
  nodeAccess(s: Obj, path: Path): Partial<ServiceSpecInput> {
    const out: Partial<ServiceSpecInput> = {};
    if (s.privileged !== undefined) out.privileged = s.privileged === true || s.privileged === 'true';
    const list = (key: string): string[] | undefined => {
      const v = s[key];
      if (v === undefined) return undefined;
      if (!Array.isArray(v)) {
        this.error([...path, key], 'expected a list');
        return undefined;
      }
      return v.map(String);
    };
    const capAdd = list('cap_add');
    if (capAdd) out.capAdd = capAdd;
    const capDrop = list('cap_drop');
    if (capDrop) out.capDrop = capDrop;
    const hostOnly = (key: 'network_mode' | 'pid' | 'ipc', field: 'hostNetwork' | 'hostPid' | 'hostIpc', what: string) => {
      const v = s[key];
      if (v === undefined) return;
      if (v === 'host') out[field] = true;
      else this.warn([...path, key], `only "host" is carried (${what}); "${String(v)}" is dropped`);
    };
    hostOnly('network_mode', 'hostNetwork', "the node's network; otherwise every service joins the app network");
    hostOnly('pid', 'hostPid', "the node's process namespace");
    hostOnly('ipc', 'hostIpc', "the node's IPC namespace");
    const devices = list('devices');
    if (devices) {
      out.devices = [];
      devices.forEach((d, i) => {
        // "/dev/fuse", "/dev/sda:/dev/xvda", "/dev/sda:/dev/xvda:rwm"
        const [source = '', target, permissions] = d.split(':');
        if (!source.startsWith('/')) {
          this.error([...path, 'devices', i], `expected "/dev/NODE[:/dev/CONTAINER[:rwm]]", got "${d}"`);
          return;
        }
        out.devices!.push({ source, ...(target ? { target } : {}), ...(permissions ? { permissions } : {}) });
      });
    }
    return out;
  }

  restart(plain: unknown, policy: unknown, path: Path): ServiceSpecInput['restart'] {
    if (isObj(policy)) {
      if (policy.window !== undefined) this.warn([...path, 'deploy', 'restart_policy', 'window'], 'not supported; dropped');
      return {
        condition: policy.condition as 'none' | 'on-failure' | 'any' | undefined,
        maxAttempts: policy.max_attempts === undefined ? undefined : Number(policy.max_attempts),
        delay: this.duration(policy.delay, [...path, 'deploy', 'restart_policy', 'delay']),
      };
    }
    if (plain === undefined) return undefined;
    const text = String(plain);
    if (text === 'no') return { condition: 'none' };
    if (text === 'always' || text === 'unless-stopped') return { condition: 'any' };
    const m = /^on-failure(?::(\d+))?$/.exec(text);
    if (m) return { condition: 'on-failure', maxAttempts: m[1] ? Number(m[1]) : undefined };
    this.error([...path, 'restart'], `expected "no", "always", "on-failure[:N]" or "unless-stopped", got "${text}"`);
    return undefined;
  }

  /**
   * Top-level secrets: each becomes an app secret whose value Berth keeps (`{}`: the value stored
   * last). A file or an environment variable is read by the client, never by the gateway: send the
   * value once in a JSON spec, or use `berth apply`, which reads them. Returns Compose name -> Berth name.
   */
  topSecrets(value: unknown): Map<string, string> {
    const out = new Map<string, string>();
    if (value === undefined || value === null) return out;
    if (!isObj(value)) {
      this.error(['secrets'], 'expected a map of secret definitions');
      return out;
    }
    for (const [name, def] of Object.entries(value)) {
      const at = ['secrets', name];
      if (isObj(def) && (def.external === true || isObj(def.external))) {
        this.warn(at, 'an external secret is managed outside Berth and is not carried; declare it through Berth (a value under the app\'s "secrets") instead');
        continue;
      }
      if (isObj(def))
        for (const k of Object.keys(def)) if (!['file', 'environment', 'name', 'labels'].includes(k)) this.warn([...at, k], 'not supported; dropped');
      out.set(name, this.dnsName(name, at, 'secret'));
    }
    return out;
  }

  /** A service's `secrets`: short ("name") or long ({source, target, mode}) syntax, as files under /run/secrets. */
  secretMounts(value: unknown, path: Path, declared: Map<string, string>): SecretMountInput[] {
    if (!Array.isArray(value)) {
      this.error(path, 'expected a list of secret names or {source, target, mode}');
      return [];
    }
    const out: SecretMountInput[] = [];
    value.forEach((item: unknown, i) => {
      const at = [...path, i];
      const ref = typeof item === 'string' ? { source: item } : isObj(item) ? item : undefined;
      if (!ref || typeof ref.source !== 'string') return this.error(at, 'expected a secret name or {source, target, mode}');
      const source = declared.get(ref.source);
      if (!source) return this.warn(at, `secret "${ref.source}" is not declared (or is external) at the top level; dropped`);
      const mount: SecretMountInput = { source };
      if (typeof ref.target === 'string') {
        const file = ref.target.startsWith(`${SECRETS_DIR}/`) ? ref.target.slice(SECRETS_DIR.length + 1) : ref.target;
        if (file.includes('/')) {
          const base = file.slice(file.lastIndexOf('/') + 1);
          this.warn([...at, 'target'], `secrets are files under ${SECRETS_DIR} on both orchestrators: mounted at ${SECRETS_DIR}/${base}`);
          mount.target = base;
        } else {
          mount.target = file;
        }
      }
      if (ref.mode !== undefined) {
        // Compose writes modes in octal (0440); YAML 1.2 reads that as the decimal 440
        const mode =
          typeof ref.mode === 'string'
            ? parseInt(ref.mode, 8)
            : typeof ref.mode === 'number' && /^[0-7]{1,4}$/.test(String(ref.mode))
              ? parseInt(String(ref.mode), 8)
              : NaN;
        if (Number.isNaN(mode)) this.error([...at, 'mode'], 'expected an octal file mode such as 0440');
        else mount.mode = mode;
      }
      for (const k of ['uid', 'gid']) if (ref[k] !== undefined) this.warn([...at, k], 'secret files belong to root on both orchestrators; dropped');
      out.push(mount);
    });
    return out;
  }

  topVolumes(value: unknown): AppSpecInput['volumes'] {
    if (!isObj(value)) return {};
    const out: NonNullable<AppSpecInput['volumes']> = {};
    for (const [name, def] of Object.entries(value)) {
      const at: Path = ['volumes', name];
      this.dnsName(name, at, 'volume');
      if (!isObj(def)) continue;
      for (const k of Object.keys(def)) {
        if (!['driver', 'driver_opts', 'labels', 'name', 'x-berth'].includes(k)) this.warn([...at, k], 'not supported; dropped');
      }
      if (def.name !== undefined) this.warn([...at, 'name'], 'volumes are named after the app and the volume key; dropped');
      const berth = isObj(def['x-berth']) ? def['x-berth'] : {};
      const remote = (def.driver !== undefined && def.driver !== 'local') || def.driver_opts !== undefined;
      if (!remote && Object.keys(berth).length === 0 && def.labels === undefined) continue;
      out[toDnsLabel(name)] = {
        driver: def.driver === undefined ? (remote ? 'local' : undefined) : String(def.driver),
        driverOptions: isObj(def.driver_opts) ? this.keyValues(def.driver_opts, [...at, 'driver_opts']) : undefined,
        storageClass: berth.storageClass === undefined ? undefined : String(berth.storageClass),
        size: berth.size === undefined ? undefined : String(berth.size),
        labels: def.labels === undefined ? undefined : this.keyValues(def.labels, [...at, 'labels']),
      };
    }
    return out;
  }
}

/**
 * Converts a Compose file into an AppSpec. Every key the unified model cannot carry is reported in
 * `warnings`; input that cannot be converted at all throws a SpecValidationError naming each problem.
 */
export function importCompose(yamlText: string, options: ComposeImportOptions = {}): ComposeImport {
  const doc = parseDocument(yamlText, { uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    throw new SpecValidationError(
      'Compose file',
      doc.errors.map((e) => ({ path: '', message: `YAML ${e.message.split('\n')[0]} (line ${e.linePos?.[0].line ?? '?'})` })),
    );
  }
  const importer = new Importer(options.env ?? {});
  const top = importer.interpolate(doc.toJS({ maxAliasCount: 100 }), []);
  if (!isObj(top)) throw new SpecValidationError('Compose file', [{ path: '', message: 'expected a YAML map with "services"' }]);
  for (const k of Object.keys(top)) {
    if (k.startsWith('x-')) importer.warn([k], 'extension fields are not carried; dropped');
    else if (!TOP_KEYS.has(k)) importer.warn([k], 'not supported; dropped');
  }
  if (top.version !== undefined) importer.warn(['version'], 'obsolete in the Compose specification; ignored');
  if (top.configs !== undefined) importer.warn(['configs'], 'configs are not carried by Compose import yet; dropped');
  if (isObj(top.networks) && Object.keys(top.networks).length > 0) {
    importer.warn(['networks'], 'every app gets one network of its own; declared networks are dropped');
  }
  const secrets = importer.topSecrets(top.secrets);
  const name = options.name ?? (typeof top.name === 'string' ? top.name : undefined);
  if (!name)
    importer.error(
      ['name'],
      'required: the file has no top-level "name"; add `name: <app>` to it, or name the app with ?name=<app> (REST), the name argument (GraphQL) or --name (CLI)',
    );
  if (!isObj(top.services) || Object.keys(top.services).length === 0) importer.error(['services'], 'expected at least one service');
  const services: Record<string, ServiceSpecInput> = {};
  for (const [svcName, raw] of Object.entries(isObj(top.services) ? top.services : {})) {
    let mounts: SecretMountInput[] = [];
    if (isObj(raw) && (raw.secrets !== undefined || raw.configs !== undefined)) {
      if (raw.configs !== undefined) importer.warn(['services', svcName, 'configs'], 'not carried by Compose import yet; dropped');
      if (raw.secrets !== undefined) mounts = importer.secretMounts(raw.secrets, ['services', svcName, 'secrets'], secrets);
      delete raw.secrets;
      delete raw.configs;
    }
    const svc = importer.service(svcName, raw, top);
    if (svc) services[importer.dnsName(svcName, ['services', svcName], 'service')] = mounts.length ? { ...svc, secrets: mounts } : svc;
  }
  const volumes = importer.topVolumes(top.volumes);
  if (importer.errors.length > 0) throw new SpecValidationError('Compose file', importer.errors);
  const spec = parseOrThrow(AppSpec, { name, services, volumes, secrets: Object.fromEntries([...secrets.values()].map((n) => [n, {}])) }, 'Compose file');
  return { spec, warnings: importer.warnings };
}
