import { parse as parseShell } from 'shell-quote';
import type { z } from 'zod';
import { AppSpec, SECRETS_DIR, type AppSpecInput, type ServiceSpecInput } from '../app-spec.js';
import { type SpecIssue, SpecValidationError, formatPath } from '../validation.js';
import { parseEnvFile } from './interpolate.js';
import { type Obj, fileKey, interpolateTree, isObj, loadYaml, mergeService } from './load.js';
import { type ComposeReport, type ComposeWarning, type Orchestrator, type OrchestratorNote, type Path, ReportBuilder, warningsOf } from './report.js';
import { byteSize, goDurationMs } from './values.js';

export interface ComposeImport {
  spec: AppSpec;
  /** Every key not carried as written, with how or why (the report's entries that are not "carried"). */
  warnings: ComposeWarning[];
  report: ComposeReport;
  /** AppSpec path -> the Compose key it came from, to name the user's key in later messages (plan). */
  origins: Record<string, string>;
}

export interface ComposeImportOptions {
  /** App name; falls back to the file's top-level `name`. */
  name?: string;
  /** Values for interpolation (the client's environment and its `.env` file); unset variables are reported. */
  env?: Record<string, string | undefined>;
  /** Profiles to enable (Compose's --profile); COMPOSE_PROFILES in `env` counts too. */
  profiles?: string[];
  /** Absolute folder that relative host paths (`./config`) resolve against: the Compose file's folder. */
  baseDir?: string;
  /** Absolute folder that `~` resolves against. */
  homeDir?: string;
  /** Image per service, for build-only services or to replace a file's images. */
  images?: Record<string, string>;
  /** Contents of other files the Compose file names (env_file, extends.file), by path relative to its folder. */
  files?: Record<string, string>;
  /** Values of the file's secrets (by their Compose name), read by the client from their file or variable. */
  secretValues?: Record<string, string>;
}

type SecretMountInput = NonNullable<ServiceSpecInput['secrets']>[number];

/** Compose names that are not DNS labels ("db_data") are renamed: lowercased, other characters as "-". */
export const toDnsLabel = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');

/** Why a service key Berth does not carry is dropped, in the user's terms. */
const DROP_REASONS: Record<string, string> = {
  depends_on: 'orchestrators do not order start-up; services reach each other by name once up (use health checks and retries)',
  container_name: 'replicas are named by the orchestrator',
  expose: 'every port is reachable on the app network without it',
  links: 'every service reaches the others by service name on the app network; link aliases are not carried',
  external_links: 'only the app network is joined; containers outside the app are not linked',
  logging: "logs go to the orchestrator's default log driver; read them with Berth's logs endpoint",
  stdin_open: 'services run detached; there is no terminal to attach',
  tty: 'services run detached; there is no terminal to attach',
  init: 'no init process is injected; use an image whose entrypoint reaps children (tini)',
  shm_size: 'the model has no /dev/shm size; mount a tmpfs volume if the service needs more',
  ulimits: 'the model has no ulimits',
  sysctls: 'the model has no sysctls',
  extra_hosts: 'the model has no extra /etc/hosts entries; use names on the app network',
  dns: "the orchestrator's DNS is used",
  dns_search: "the orchestrator's DNS is used",
  dns_opt: "the orchestrator's DNS is used",
  security_opt: 'security options are set by the cluster (workload policy, Pod Security)',
  stop_signal: 'the image stop signal is used',
  platform: 'nodes are chosen by placement; the image must have a variant for them',
  pull_policy: 'the orchestrator pulls as it is configured to',
  read_only: 'the model has no read-only root file system',
  group_add: 'the model has no supplementary groups',
  domainname: 'the model has no domain name',
  mac_address: 'addresses are assigned by the orchestrator',
  oom_score_adj: 'the model has no OOM score',
  oom_kill_disable: 'the model has no OOM settings',
  userns_mode: 'user namespaces are set by the node',
  runtime: 'the node runtime is used',
  cgroup_parent: 'cgroups are managed by the orchestrator',
  cpu_shares: 'relative CPU weights are not carried; use cpus or deploy.resources',
  cpuset: 'CPU pinning is not carried',
  memswap_limit: 'the model has no swap limit',
  pids_limit: 'the model has no process limit',
  blkio_config: 'the model has no block I/O limits',
  storage_opt: 'the model has no storage options',
  volumes_from: 'mount the same named volume in each service instead',
  develop: 'a development-loop setting of docker compose (watch), not a deployment setting',
  annotations: 'the model has no container annotations',
  attach: 'a docker compose logging setting, not a deployment setting',
  post_start: 'lifecycle hooks are not carried',
  pre_stop: 'lifecycle hooks are not carried',
  scale: 'superseded by deploy.replicas',
};

const SWARM_CANNOT = (what: string): OrchestratorNote => ({ status: 'refused', note: `Swarm services cannot ${what}; the apply fails on Swarm` });

class Importer {
  readonly report = new ReportBuilder();
  readonly errors: SpecIssue[] = [];
  readonly origins: Record<string, string> = {};

  constructor(private readonly options: ComposeImportOptions) {}

  get env(): Record<string, string | undefined> {
    return this.options.env ?? {};
  }

  error(path: Path, message: string): void {
    this.errors.push({ path: formatPath(path), message });
  }

  origin(specPath: Path, composePath: Path): void {
    this.origins[formatPath(specPath)] = formatPath(composePath);
  }

  dnsName(name: string, path: Path, what: string): string {
    const fixed = toDnsLabel(name);
    if (fixed !== name)
      this.report.approximated(
        path,
        `${what} "${name}" renamed to "${fixed}": names must be DNS labels (references to the old name in values are not rewritten)`,
      );
    return fixed;
  }

  num(value: unknown, path: Path, what = 'a number'): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const n = Number(value);
    if (Number.isNaN(n)) {
      this.error(path, `expected ${what}, got "${String(value)}"`);
      return undefined;
    }
    return n;
  }

  words(value: unknown, path: Path): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) {
      this.report.carried(path);
      return value.map(String);
    }
    if (typeof value === 'string') {
      const parts = parseShell(value, (name) => `$${name}`);
      if (parts.some((p) => typeof p !== 'string')) {
        this.report.approximated(path, 'split into words; shell operators are passed as words, not interpreted (use ["sh", "-c", "..."] to run a shell)');
      } else this.report.carried(path);
      return parts.map((p) => (typeof p === 'string' ? p : 'op' in p ? p.op : 'comment' in p ? `#${p.comment}` : String(p)));
    }
    this.error(path, 'expected a string or a list of strings');
    return undefined;
  }

  /** A KEY=value list or a map; a key without a value is taken from the import environment, as Compose does. */
  keyValues(value: unknown, path: Path, what: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (value === undefined || value === null) return out;
    const fromEnv = (key: string, at: Path) => {
      const v = this.env[key];
      if (v === undefined) this.report.dropped(at, `"${key}" has no value and is not set in the import environment`);
      else {
        out[key] = v;
        this.report.approximated(at, `value taken from the import environment's ${key}`);
      }
    };
    if (Array.isArray(value)) {
      value.forEach((entry, i) => {
        const text = String(entry);
        const eq = text.indexOf('=');
        if (eq < 0) fromEnv(text, [...path, i]);
        else {
          out[text.slice(0, eq)] = text.slice(eq + 1);
          this.report.carried([...path, i]);
        }
      });
      return out;
    }
    if (isObj(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (v === null || v === undefined) fromEnv(k, [...path, k]);
        else {
          out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
          this.report.carried([...path, k]);
        }
      }
      return out;
    }
    this.error(path, `expected ${what} as a list of "KEY=value" or a map`);
    return out;
  }

  /** Labels: a label the orchestrators cannot take (key syntax, value length) is dropped alone. */
  labels(value: unknown, path: Path): Record<string, string> {
    const all = this.keyValues(value, path, 'labels');
    for (const [k, v] of Object.entries(all)) {
      const bad = !/^[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$/.test(k)
        ? 'the key is not a valid label key'
        : v.length > 252
          ? 'the value is longer than 252 characters'
          : undefined;
      if (bad) {
        delete all[k];
        this.report.dropped([...path, k], `${bad} on both orchestrators`);
      }
    }
    return all;
  }

  duration(value: unknown, path: Path): number | undefined {
    if (value === undefined || value === null) return undefined;
    const ms = goDurationMs(value);
    if (ms === undefined) {
      this.error(path, `expected a duration like "10s", "1m30s" or "500ms", got "${String(value)}"`);
      return undefined;
    }
    const rounded = Math.round(ms);
    if (rounded !== ms) this.report.approximated(path, `${String(value)} rounded to ${rounded}ms (Berth counts whole milliseconds)`);
    else this.report.carried(path);
    return rounded;
  }

  bytes(value: unknown, path: Path): number | undefined {
    if (value === undefined || value === null) return undefined;
    const n = byteSize(value);
    if (n === undefined) {
      this.error(path, `expected a size like "512M" or "1G", got "${String(value)}"`);
      return undefined;
    }
    this.report.carried(path);
    return n;
  }

  /** Marks the keys of a map as dropped unless `known`; returns the map (or {} for a non-map). */
  only(value: unknown, path: Path, known: string[], why = 'not carried by Berth'): Obj {
    if (!isObj(value)) return {};
    for (const k of Object.keys(value)) if (!known.includes(k)) this.report.dropped([...path, k], why);
    return value;
  }

  ports(value: unknown, path: Path): ServiceSpecInput['ports'] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error(path, 'expected a list of ports');
      return [];
    }
    const out: NonNullable<ServiceSpecInput['ports']> = [];
    const ingressNote = (published: number | undefined, at: Path): void => {
      if (published !== undefined && (published < 30000 || published > 32767)) {
        this.report.add(at, 'carried', undefined, {
          kubernetes: {
            status: 'approximated',
            note: `published as a NodePort Service; ${published} is outside the NodePort range 30000-32767, so Kubernetes assigns the node port (see the service's discovery)`,
          },
        });
      } else this.report.carried(at);
    };
    value.forEach((entry, i) => {
      const at = [...path, i];
      if (isObj(entry)) {
        this.only(entry, at, ['target', 'published', 'protocol', 'mode', 'host_ip', 'name', 'app_protocol']);
        if (entry.name !== undefined) this.report.dropped([...at, 'name'], 'ports are not named in the model');
        if (entry.app_protocol !== undefined) this.report.dropped([...at, 'app_protocol'], 'the application protocol is not carried');
        if (entry.host_ip !== undefined && entry.host_ip !== '')
          this.report.approximated([...at, 'host_ip'], 'binding to one host address is not supported; the port is published on all addresses');
        const protocol = String(entry.protocol ?? 'tcp');
        if (protocol !== 'tcp' && protocol !== 'udp') return this.report.dropped(at, `protocol "${protocol}" is not carried (tcp and udp are)`);
        const target = this.num(entry.target, [...at, 'target'], 'a port number');
        if (target === undefined) return this.error([...at, 'target'], 'required: the container port');
        const mode = entry.mode === 'host' ? 'host' : 'ingress';
        const published = entry.published === undefined || entry.published === null || entry.published === '' ? undefined : String(entry.published);
        const [from, to] = published ? published.split('-').map(Number) : [];
        if (published && (Number.isNaN(from) || (to !== undefined && Number.isNaN(to))))
          return this.error([...at, 'published'], `expected a port or a range, got "${published}"`);
        if (to !== undefined && to !== from) this.report.approximated([...at, 'published'], `a published range for one target port: published on ${from}`);
        for (const k of ['target', 'protocol', 'mode']) if (entry[k] !== undefined) this.report.carried([...at, k]);
        if (published && mode === 'ingress') ingressNote(from, [...at, 'published']);
        else if (published) this.report.carried([...at, 'published']);
        out.push({ target, published: from, protocol: protocol as 'tcp' | 'udp', mode });
        return;
      }
      // [[host_ip:]published:]target[/protocol], with an empty host IP left by interpolation (":2283:2283")
      const m = /^(?:(?:(\[[^\]]*\]|[\d.]*|[0-9a-fA-F:]*):)?(\d+(?:-\d+)?)?:)?(\d+(?:-\d+)?)(?:\/(\w+))?$/.exec(String(entry).trim());
      if (!m) return this.error(at, `expected a port like "8080:80", "127.0.0.1:8080:80" or "80/udp", got "${String(entry)}"`);
      const [, hostIp, published, target, protocol = 'tcp'] = m;
      if (protocol !== 'tcp' && protocol !== 'udp') return this.report.dropped(at, `protocol "${protocol}" is not carried (tcp and udp are)`);
      const range = (text: string | undefined) => (text ? text.split('-').map(Number) : undefined);
      const targets = range(target)!;
      const publisheds = range(published);
      const first = targets[0]!;
      const last = targets[1] ?? first;
      if (publisheds && publisheds.length !== targets.length) {
        if (targets.length === 1 && publisheds.length === 2) {
          this.report.approximated(at, `a published range for one target port: published on ${publisheds[0]}`);
          out.push({ target: first, published: publisheds[0], protocol: protocol as 'tcp' | 'udp' });
          return;
        }
        return this.error(at, 'a published range and a target range must have the same length');
      }
      if (hostIp && hostIp !== '[]') this.report.approximated(at, `binding to host address ${hostIp} is not supported; the port is published on all addresses`);
      else ingressNote(publisheds?.[0], at);
      for (let p = first; p <= last; p++) {
        out.push({ target: p, published: publisheds ? publisheds[0]! + (p - first) : undefined, protocol: protocol as 'tcp' | 'udp' });
      }
    });
    return out;
  }

  healthcheck(value: unknown, path: Path): ServiceSpecInput['healthCheck'] {
    if (!isObj(value)) return undefined;
    const disabled: Record<string, OrchestratorNote> = {
      swarm: { status: 'approximated', note: "no health check is set: on Swarm an image's own HEALTHCHECK still runs" },
    };
    if (value.disable === true || (Array.isArray(value.test) && value.test[0] === 'NONE')) {
      const flag = value.disable === true ? 'disable' : 'test';
      for (const k of Object.keys(value)) if (k !== flag) this.report.dropped([...path, k], 'the health check is disabled');
      this.report.add([...path, flag], 'carried', undefined, disabled);
      return undefined;
    }
    this.only(value, path, ['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable']);
    if (value.disable === false) this.report.carried([...path, 'disable']);
    if (value.start_interval !== undefined) this.report.approximated([...path, 'start_interval'], 'the regular interval applies during the start period');
    let test: string[] | undefined;
    if (typeof value.test === 'string') test = ['CMD-SHELL', value.test];
    else if (Array.isArray(value.test)) test = value.test.map(String);
    if (test === undefined) {
      // Compose then only tunes the image's own HEALTHCHECK, which the model cannot express
      for (const k of Object.keys(value))
        if (k !== 'disable')
          this.report.dropped([...path, k], "no test is given: these settings tune the image's own health check, which Berth does not carry");
      this.report.add(value.disable === false ? [...path, 'disable'] : path, 'carried', undefined, disabled);
      return undefined;
    }
    if (test.length < 2 || !['CMD', 'CMD-SHELL'].includes(test[0]!)) {
      this.error([...path, 'test'], 'expected a command: a string, ["CMD", "prog", "arg"...], ["CMD-SHELL", "command"] or ["NONE"]');
      return undefined;
    }
    this.report.carried([...path, 'test']);
    let retries = this.num(value.retries, [...path, 'retries'], 'a whole number of retries');
    if (retries !== undefined) {
      if (retries > 100) {
        this.report.approximated(
          [...path, 'retries'],
          `${retries} capped at 100, Berth's limit: the service is marked unhealthy after 100 failed checks in a row`,
        );
        retries = 100;
      } else if (retries < 1) {
        this.report.approximated([...path, 'retries'], `${retries} raised to 1: a failing check counts at least once`);
        retries = 1;
      } else this.report.carried([...path, 'retries']);
    }
    return {
      test,
      interval: this.duration(value.interval, [...path, 'interval']),
      timeout: this.duration(value.timeout, [...path, 'timeout']),
      retries,
      startPeriod: this.duration(value.start_period, [...path, 'start_period']),
    };
  }

  policy(value: unknown, path: Path, rollback: boolean) {
    if (!isObj(value)) return undefined;
    this.only(value, path, ['parallelism', 'delay', 'order', 'failure_action', 'monitor', 'max_failure_ratio']);
    const k8s: Record<string, OrchestratorNote> = {
      parallelism: { status: 'approximated', note: 'Kubernetes: maxSurge (start-first) or maxUnavailable (stop-first)' },
      delay: { status: 'approximated', note: 'Kubernetes: minReadySeconds' },
      order: { status: 'approximated', note: 'Kubernetes: maxSurge/maxUnavailable; a StatefulSet always replaces stop-first' },
      failure_action: { status: 'approximated', note: 'Kubernetes: enforced by Berth watching the rollout' },
      monitor: { status: 'approximated', note: 'Kubernetes: enforced by Berth watching the rollout' },
      max_failure_ratio: { status: 'approximated', note: 'Kubernetes: enforced by Berth watching the rollout' },
    };
    for (const k of ['parallelism', 'order', 'max_failure_ratio'])
      if (value[k] !== undefined) this.report.add([...path, k], 'carried', undefined, { kubernetes: k8s[k]! });
    let failureAction = value.failure_action === undefined ? undefined : String(value.failure_action);
    if (failureAction !== undefined) {
      if (rollback && failureAction === 'rollback') {
        this.report.approximated([...path, 'failure_action'], 'a rollback cannot itself roll back: carried as "pause"');
        failureAction = 'pause';
      } else if (!['pause', 'continue', 'rollback'].includes(failureAction)) {
        this.error([...path, 'failure_action'], `expected "pause", "continue"${rollback ? '' : ' or "rollback"'}, got "${failureAction}"`);
      } else this.report.add([...path, 'failure_action'], 'carried', undefined, { kubernetes: k8s.failure_action! });
    }
    return {
      parallelism: this.num(value.parallelism, [...path, 'parallelism']),
      delay: this.duration(value.delay, [...path, 'delay']),
      order: value.order as 'stop-first' | 'start-first' | undefined,
      failureAction: failureAction as 'pause' | 'continue' | 'rollback' | undefined,
      monitor: this.duration(value.monitor, [...path, 'monitor']),
      maxFailureRatio: this.num(value.max_failure_ratio, [...path, 'max_failure_ratio']),
    };
  }

  /** deploy.resources, with the service-level mem_limit, mem_reservation, cpus and cpu_quota where deploy gives none. */
  resources(s: Obj, path: Path): ServiceSpecInput['resources'] {
    const d = isObj(s.deploy) ? s.deploy : {};
    const r = this.only(d.resources, [...path, 'deploy', 'resources'], ['limits', 'reservations']);
    const amounts = (v: unknown, at: Path) => {
      if (!isObj(v)) return {};
      for (const k of Object.keys(v)) {
        if (k === 'pids') this.report.dropped([...at, k], 'the model has no process limit');
        else if (k === 'devices')
          this.report.dropped(
            [...at, k],
            'device reservations (GPUs) are not carried; they need a device plugin (Kubernetes) or generic resources (Swarm) set up by hand',
          );
        else if (k === 'generic_resources') this.report.dropped([...at, k], 'generic resources are not carried');
        else if (k !== 'cpus' && k !== 'memory') this.report.dropped([...at, k], 'only cpus and memory are carried');
      }
      const cpus = this.num(v.cpus, [...at, 'cpus'], 'a number of CPUs');
      if (cpus !== undefined) this.report.carried([...at, 'cpus']);
      return { cpus, memoryBytes: this.bytes(v.memory, [...at, 'memory']) };
    };
    const limits: { cpus?: number; memoryBytes?: number } = amounts(r.limits, [...path, 'deploy', 'resources', 'limits']);
    const reservations: { cpus?: number; memoryBytes?: number } = amounts(r.reservations, [...path, 'deploy', 'resources', 'reservations']);
    const fallback = (key: string, current: number | undefined, value: number | undefined, set: (n: number) => void) => {
      if (value === undefined) return;
      if (current !== undefined && current !== value) this.report.dropped([...path, key], `deploy.resources gives ${current}, which wins`);
      else {
        set(value);
        this.report.approximated([...path, key], `carried as deploy.resources (${key === 'mem_reservation' ? 'reservations' : 'limits'})`);
      }
    };
    if (s.mem_limit !== undefined) {
      const n = byteSize(s.mem_limit);
      if (n === undefined) this.error([...path, 'mem_limit'], `expected a size like "512m", got "${String(s.mem_limit)}"`);
      fallback('mem_limit', limits.memoryBytes, n, (v) => (limits.memoryBytes = v));
    }
    if (s.mem_reservation !== undefined) {
      const n = byteSize(s.mem_reservation);
      if (n === undefined) this.error([...path, 'mem_reservation'], `expected a size like "512m", got "${String(s.mem_reservation)}"`);
      fallback('mem_reservation', reservations.memoryBytes, n, (v) => (reservations.memoryBytes = v));
    }
    if (s.cpus !== undefined) fallback('cpus', limits.cpus, this.num(s.cpus, [...path, 'cpus'], 'a number of CPUs'), (v) => (limits.cpus = v));
    if (s.cpu_quota !== undefined) {
      const quota = this.num(s.cpu_quota, [...path, 'cpu_quota']);
      const period = this.num(s.cpu_period, [...path, 'cpu_period']) ?? 100_000;
      if (quota !== undefined) fallback('cpu_quota', limits.cpus, Math.round((quota / period) * 1000) / 1000, (v) => (limits.cpus = v));
    }
    if (s.cpu_period !== undefined) this.report.approximated([...path, 'cpu_period'], 'used to turn cpu_quota into a number of CPUs');
    const clean = (a: { cpus?: number; memoryBytes?: number }) => (a.cpus === undefined && a.memoryBytes === undefined ? undefined : a);
    const out = { limits: clean(limits), reservations: clean(reservations) };
    if (out.limits) this.origin([...path, 'resources', 'limits'], [...path, 'deploy', 'resources', 'limits']);
    if (out.reservations) this.origin([...path, 'resources', 'reservations'], [...path, 'deploy', 'resources', 'reservations']);
    return out.limits || out.reservations ? out : undefined;
  }

  /** A host path as the node sees it: absolute as written, or resolved against the base folder ("./x") or home ("~/x"). */
  hostPath(source: string, at: Path): string | undefined {
    if (source.startsWith('/')) return source;
    const join = (base: string, rest: string) => {
      const parts: string[] = [];
      for (const p of `${base}/${rest}`.split('/')) {
        if (p === '' || p === '.') continue;
        if (p === '..') parts.pop();
        else parts.push(p);
      }
      return `/${parts.join('/')}`;
    };
    if (source === '~' || source.startsWith('~/')) {
      if (!this.options.homeDir) {
        this.error(
          at,
          `"${source}" is relative to a home folder: the CLI resolves it (berth apply/convert); on the API give homeDir (?homeDir=/home/user), or write an absolute path`,
        );
        return undefined;
      }
      const resolved = join(this.options.homeDir, source.slice(1));
      this.report.approximated(at, `"${source}" resolved against the home folder ${this.options.homeDir}: ${resolved} on the node`);
      return resolved;
    }
    if (!this.options.baseDir || !this.options.baseDir.startsWith('/')) {
      this.error(
        at,
        `"${source}" is relative to the Compose file's folder: the CLI resolves it as docker stack deploy does (berth apply/convert); on the API give the folder as baseDir (?baseDir=/srv/app), or write an absolute path`,
      );
      return undefined;
    }
    const resolved = join(this.options.baseDir, source);
    this.report.approximated(
      at,
      `"${source}" resolved against the Compose file's folder ${this.options.baseDir}: ${resolved} on the node, which must exist on every node a replica may run on`,
    );
    return resolved;
  }

  volumes(value: unknown, path: Path, declared: Obj): NonNullable<ServiceSpecInput['volumes']> {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error(path, 'expected a list of volumes');
      return [];
    }
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
      let marked = false;
      if (isObj(entry)) {
        type = String(entry.type ?? 'volume');
        source = entry.source === undefined || entry.source === null ? undefined : String(entry.source);
        target = String(entry.target ?? '');
        readOnly = entry.read_only === true;
        this.only(entry, at, ['type', 'source', 'target', 'read_only', 'volume', 'bind', 'tmpfs', 'consistency']);
        for (const k of ['type', 'source', 'target', 'read_only']) if (entry[k] !== undefined) this.report.carried([...at, k]);
        if (entry.consistency !== undefined) this.report.dropped([...at, 'consistency'], 'a Docker Desktop setting');
        for (const k of ['volume', 'bind', 'tmpfs'])
          if (entry[k] !== undefined) {
            const opts = isObj(entry[k]) ? entry[k] : {};
            for (const o of Object.keys(opts)) this.report.dropped([...at, k, o], `per-mount ${k} options are not carried`);
            if (Object.keys(opts).length === 0) this.report.dropped([...at, k], `per-mount ${k} options are not carried`);
          }
        marked = true;
      } else {
        const text = String(entry);
        const parts = text.split(':');
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
            if (other.length) {
              this.report.approximated(at, `mount options ${other.join(',')} are not carried (SELinux labels and propagation are set by the node)`);
              marked = true;
            }
          }
          type = /^[./~]/.test(source) || source === '' ? 'bind' : 'volume';
        }
      }
      const mark = () => !marked && this.report.carried(at);
      if (type === 'tmpfs' || (type === 'volume' && !source)) {
        out.push({ type: 'implicit', target });
        if (type === 'tmpfs')
          this.report.approximated(
            at,
            'a tmpfs is carried as implicit storage: per-replica scratch space (emptyDir on Kubernetes, the container layer on Swarm), on disk rather than in memory',
          );
        else mark();
      } else if (type === 'bind') {
        const resolved = this.hostPath(source ?? '', at);
        if (!resolved) return;
        if (resolved === source) mark();
        out.push({ type: 'hostPath', source: resolved, target, readOnly });
      } else if (type === 'volume') {
        if (!(source! in declared))
          return this.error(at, `volume "${source}" is not declared under the top-level "volumes" (Compose refuses this file too): declare it there`);
        mark();
        out.push({ type: kindOf(source!), source: toDnsLabel(source!), target, readOnly });
      } else {
        this.report.dropped(at, `volume type "${type}" is not carried (volume, bind and tmpfs are)`);
      }
    });
    return out;
  }

  restart(s: Obj, path: Path): ServiceSpecInput['restart'] {
    const d = isObj(s.deploy) ? s.deploy : {};
    const k8sRestart: OrchestratorNote = { status: 'approximated', note: "Kubernetes always restarts a service's containers (with back-off)" };
    if (isObj(d.restart_policy)) {
      const policy = d.restart_policy;
      const at = [...path, 'deploy', 'restart_policy'];
      this.only(policy, at, ['condition', 'max_attempts', 'delay', 'window']);
      if (policy.window !== undefined) this.report.dropped([...at, 'window'], 'the model has no restart evaluation window');
      if (s.restart !== undefined) this.report.dropped([...path, 'restart'], 'deploy.restart_policy wins, as in docker stack deploy');
      const condition = policy.condition === undefined ? undefined : String(policy.condition);
      if (condition !== undefined && !['none', 'on-failure', 'any'].includes(condition))
        this.error([...at, 'condition'], `expected "none", "on-failure" or "any", got "${condition}"`);
      else if (condition !== undefined)
        this.report.add([...at, 'condition'], 'carried', undefined, condition === 'any' ? undefined : { kubernetes: k8sRestart });
      const maxAttempts = this.num(policy.max_attempts, [...at, 'max_attempts']);
      if (maxAttempts !== undefined)
        this.report.add([...at, 'max_attempts'], 'carried', undefined, { kubernetes: { status: 'dropped', note: 'Kubernetes restarts without a limit' } });
      const delay = this.duration(policy.delay, [...at, 'delay']);
      if (delay !== undefined)
        this.report.add([...at, 'delay'], 'carried', undefined, { kubernetes: { status: 'dropped', note: 'Kubernetes chooses the restart back-off itself' } });
      this.origin([...path, 'restart'], at);
      return { condition: condition as 'none' | 'on-failure' | 'any' | undefined, maxAttempts, delay };
    }
    if (s.restart === undefined || s.restart === null) return undefined;
    const text = String(s.restart);
    const at = [...path, 'restart'];
    this.origin(at, at);
    if (text === 'no') {
      this.report.add(at, 'carried', undefined, { kubernetes: k8sRestart });
      return { condition: 'none' };
    }
    if (text === 'always') {
      this.report.carried(at);
      return { condition: 'any' };
    }
    if (text === 'unless-stopped') {
      this.report.approximated(at, 'carried as "always": an orchestrator keeps a service running until it is scaled or removed');
      return { condition: 'any' };
    }
    const m = /^on-failure(?::(\d+))?$/.exec(text);
    if (m) {
      this.report.add(at, 'carried', undefined, { kubernetes: k8sRestart });
      return { condition: 'on-failure', maxAttempts: m[1] ? Number(m[1]) : undefined };
    }
    this.error(at, `expected "no", "always", "on-failure[:N]" or "unless-stopped", got "${text}"`);
    return undefined;
  }

  placement(d: Obj, path: Path): ServiceSpecInput['placement'] {
    const at = [...path, 'deploy', 'placement'];
    const p = this.only(d.placement, at, ['constraints', 'preferences', 'max_replicas_per_node']);
    if (!isObj(d.placement)) return undefined;
    if (p.preferences !== undefined) this.report.dropped([...at, 'preferences'], 'spread preferences are not carried');
    const constraints = Array.isArray(p.constraints) ? p.constraints.map((c) => String(c).trim()) : undefined;
    constraints?.forEach((c, i) => {
      const m = /^([\w.-]+)\s*(==|!=)\s*(\S+)$/.exec(c);
      const mapsOnK8s = m && m[2] === '==' && (m[1]!.startsWith('node.labels.') || m[1] === 'node.hostname');
      this.report.add(
        [...at, 'constraints', i],
        'carried',
        undefined,
        mapsOnK8s
          ? undefined
          : {
              kubernetes: {
                status: 'dropped',
                note: `"${c}" has no Kubernetes equivalent (only node.labels.KEY==VALUE and node.hostname==NAME map to a nodeSelector)`,
              },
            },
      );
    });
    const perNode = this.num(p.max_replicas_per_node, [...at, 'max_replicas_per_node']);
    if (perNode !== undefined)
      this.report.add([...at, 'max_replicas_per_node'], 'carried', undefined, {
        kubernetes:
          perNode === 1
            ? { status: 'approximated', note: 'pod anti-affinity on the node' }
            : { status: 'dropped', note: `Kubernetes cannot cap replicas per node at ${perNode}; only 1 maps` },
      });
    this.origin([...path, 'placement'], at);
    return { constraints, maxReplicasPerNode: perNode };
  }

  /** privileged, capabilities, the node's namespaces and devices: carried, so that the cluster's workload policy decides. */
  nodeAccess(s: Obj, path: Path): Partial<ServiceSpecInput> {
    const out: Partial<ServiceSpecInput> = {};
    if (s.privileged !== undefined) {
      out.privileged = s.privileged === true || s.privileged === 'true';
      this.report.add(
        [...path, 'privileged'],
        'carried',
        undefined,
        out.privileged ? { swarm: SWARM_CANNOT('run privileged (add the capabilities it needs with cap_add instead)') } : undefined,
      );
    }
    const list = (key: string): string[] | undefined => {
      const v = s[key];
      if (v === undefined || v === null) return undefined;
      if (!Array.isArray(v)) {
        this.error([...path, key], 'expected a list');
        return undefined;
      }
      return v.map(String);
    };
    const capAdd = list('cap_add');
    if (capAdd) {
      out.capAdd = capAdd;
      this.report.carried([...path, 'cap_add']);
    }
    const capDrop = list('cap_drop');
    if (capDrop) {
      out.capDrop = capDrop;
      this.report.carried([...path, 'cap_drop']);
    }
    const hostOnly = (key: 'network_mode' | 'pid' | 'ipc', field: 'hostNetwork' | 'hostPid' | 'hostIpc', what: string) => {
      const v = s[key];
      if (v === undefined) return;
      if (v === 'host') {
        out[field] = true;
        this.report.add([...path, key], 'carried', undefined, key === 'network_mode' ? undefined : { swarm: SWARM_CANNOT(`share the node's ${what}`) });
      } else
        this.report.dropped(
          [...path, key],
          `only "host" is carried (the node's ${what}); otherwise every service joins the app network and its own namespaces`,
        );
    };
    hostOnly('network_mode', 'hostNetwork', 'network');
    hostOnly('pid', 'hostPid', 'process namespace');
    hostOnly('ipc', 'hostIpc', 'IPC namespace');
    const devices = list('devices');
    if (devices) {
      out.devices = [];
      devices.forEach((d, i) => {
        const [source = '', target, permissions] = d.split(':');
        if (!source.startsWith('/')) return this.error([...path, 'devices', i], `expected "/dev/NODE[:/dev/CONTAINER[:rwm]]", got "${d}"`);
        this.report.add([...path, 'devices', i], 'carried', undefined, {
          swarm: SWARM_CANNOT('map devices of the node'),
          kubernetes: {
            status: 'approximated',
            note: 'mounted from the node; without privileged mode or a device plugin the container may not be allowed to open it',
          },
        });
        out.devices!.push({ source, ...(target ? { target } : {}), ...(permissions ? { permissions } : {}) });
      });
    }
    return out;
  }

  networks(value: unknown, path: Path): void {
    if (value === undefined || value === null) return;
    const names = Array.isArray(value) ? value.map(String) : isObj(value) ? Object.keys(value) : [];
    names.forEach((n, i) => {
      const at = Array.isArray(value) ? [...path, i] : [...path, n];
      if (i === 0) this.report.carried(at);
      else this.report.dropped(at, `the service joins only the app network, which all the app's services share; network "${n}" is not created`);
      if (isObj(value) && isObj(value[n]))
        for (const k of Object.keys(value[n]))
          this.report.dropped([...path, n, k], `network ${k === 'aliases' ? 'aliases' : 'settings'} are not carried; services are reached by service name`);
    });
  }

  /** Top-level secrets: each becomes an app secret whose value Berth keeps; file/environment values are read by the client. */
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
        this.report.dropped(at, 'an external secret is managed outside Berth; declare it through Berth (a value under the app\'s "secrets") instead');
        continue;
      }
      const d = this.only(def, at, ['file', 'environment', 'name', 'labels']);
      if (d.file !== undefined)
        this.report.approximated(
          [...at, 'file'],
          'the client reads the file (berth apply sends its content); through the API send the value once in a JSON spec',
        );
      if (d.environment !== undefined)
        this.report.approximated(
          [...at, 'environment'],
          'the client reads the variable (berth apply sends its value); through the API send the value once in a JSON spec',
        );
      if (d.name !== undefined) this.report.dropped([...at, 'name'], "secrets are named after the app and the secret's key");
      if (d.labels !== undefined) this.report.dropped([...at, 'labels'], 'secret labels are not carried');
      const fixed = toDnsLabel(name);
      if (fixed !== name) this.dnsName(name, at, 'secret');
      else if (!isObj(def) || Object.keys(def).length === 0) this.report.carried(at);
      out.set(name, fixed);
    }
    return out;
  }

  secretMounts(value: unknown, path: Path, declared: Map<string, string>): SecretMountInput[] {
    if (value === undefined || value === null) return [];
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
      if (!source) return this.report.dropped(at, `secret "${ref.source}" is external (or not declared) at the top level`);
      if (typeof item === 'string') this.report.carried(at);
      else {
        this.only(item, at, ['source', 'target', 'mode', 'uid', 'gid']);
        this.report.carried([...at, 'source']);
      }
      const mount: SecretMountInput = { source };
      if (typeof ref.target === 'string') {
        const file = ref.target.startsWith(`${SECRETS_DIR}/`) ? ref.target.slice(SECRETS_DIR.length + 1) : ref.target;
        if (file.includes('/')) {
          const base = file.slice(file.lastIndexOf('/') + 1);
          this.report.approximated([...at, 'target'], `secrets are files under ${SECRETS_DIR} on both orchestrators: mounted at ${SECRETS_DIR}/${base}`);
          mount.target = base;
        } else {
          this.report.carried([...at, 'target']);
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
        else {
          mount.mode = mode;
          this.report.carried([...at, 'mode']);
        }
      }
      for (const k of ['uid', 'gid']) if (ref[k] !== undefined) this.report.dropped([...at, k], 'secret files belong to root on both orchestrators');
      out.push(mount);
    });
    return out;
  }

  topVolumes(value: unknown): AppSpecInput['volumes'] {
    if (!isObj(value)) return {};
    const out: NonNullable<AppSpecInput['volumes']> = {};
    for (const [name, def] of Object.entries(value)) {
      const at: Path = ['volumes', name];
      const renamed = toDnsLabel(name) !== name;
      this.dnsName(name, at, 'volume');
      if (!isObj(def)) {
        if (!renamed) this.report.carried(at);
        continue;
      }
      this.only(def, at, ['driver', 'driver_opts', 'labels', 'name', 'external', 'x-berth']);
      if (def.name !== undefined) this.report.approximated([...at, 'name'], `volumes are named after the app and the volume key, not "${String(def.name)}"`);
      if (def.external !== undefined && def.external !== false)
        this.report.approximated(
          [...at, 'external'],
          'Berth creates and owns the volume, named after the app: an existing volume outside the app is not used (copy its data in)',
        );
      else if (def.external === false) this.report.carried([...at, 'external']);
      const berth = this.only(def['x-berth'], [...at, 'x-berth'], ['storageClass', 'size'], 'unknown Berth extension');
      for (const k of ['storageClass', 'size']) if (berth[k] !== undefined) this.report.carried([...at, 'x-berth', k]);
      if (def.driver !== undefined)
        this.report.add([...at, 'driver'], 'carried', undefined, {
          kubernetes: { status: 'dropped', note: 'a Swarm volume driver: Kubernetes uses x-berth.storageClass' },
        });
      const remote = (def.driver !== undefined && def.driver !== 'local') || def.driver_opts !== undefined;
      if (def.driver_opts !== undefined && !isObj(def.driver_opts)) this.error([...at, 'driver_opts'], 'expected a map');
      if (!remote && Object.keys(berth).length === 0 && def.labels === undefined) continue;
      out[toDnsLabel(name)] = {
        driver: def.driver === undefined ? (remote ? 'local' : undefined) : String(def.driver),
        driverOptions: isObj(def.driver_opts) ? this.keyValues(def.driver_opts, [...at, 'driver_opts'], 'driver_opts') : undefined,
        storageClass: berth.storageClass === undefined ? undefined : String(berth.storageClass),
        size: berth.size === undefined ? undefined : String(berth.size),
        labels: def.labels === undefined ? undefined : this.labels(def.labels, [...at, 'labels']),
      };
    }
    return out;
  }

  /** The service with its `extends` chain merged in, as the Compose Specification merges it. */
  extended(name: string, raw: Obj, services: Obj, path: Path, seen: string[] = []): Obj {
    const ext = raw.extends;
    if (ext === undefined) return raw;
    const ref = typeof ext === 'string' ? { service: ext } : isObj(ext) ? ext : undefined;
    const at = [...path, 'extends'];
    const { extends: _drop, ...local } = raw;
    void _drop;
    if (!ref || typeof ref.service !== 'string') {
      this.error(at, 'expected a service name or {service, file}');
      return local;
    }
    let pool = services;
    let where = 'this file';
    if (typeof ref.file === 'string') {
      const text = this.options.files?.[fileKey(ref.file)];
      if (text === undefined) {
        this.error(
          [...at, 'file'],
          `"${ref.file}" is another file: the CLI sends it (berth apply/convert with the Compose file's path); on the API send it in "files", or copy the service in`,
        );
        return local;
      }
      let other: unknown;
      try {
        other = loadYaml(text, `Compose file ${ref.file}`);
      } catch (e) {
        this.error([...at, 'file'], e instanceof Error ? e.message : String(e));
        return local;
      }
      other = interpolateTree(
        other,
        [],
        this.env,
        () => undefined,
        (p, m) => this.error([...at, 'file'], `${formatPath(p)}: ${m}`),
      );
      pool = isObj(other) && isObj(other.services) ? other.services : {};
      where = ref.file;
    }
    const key = `${where}:${ref.service}`;
    if (seen.includes(key)) {
      this.error(at, `extends goes round in a circle: ${[...seen, key].join(' -> ')}`);
      return local;
    }
    const base = pool[ref.service];
    if (!isObj(base)) {
      this.error([...at, 'service'], `service "${ref.service}" is not defined in ${where}`);
      return local;
    }
    for (const k of Object.keys(isObj(ext) ? ext : {})) if (k !== 'service' && k !== 'file') this.report.dropped([...at, k], 'not an extends field');
    this.report.approximated(at, `merged with service "${ref.service}" of ${where}, as Compose merges it (keys below are reported under this service)`);
    // a list form merged into a map is reported by key ("environment.QUEUE"); the entries as written are carried through it
    for (const k of ['environment', 'labels']) if (Array.isArray(local[k])) (local[k] as unknown[]).forEach((_, i) => this.report.carried([...path, k, i]));
    return mergeService(this.extended(ref.service, base, pool, at, [...seen, `${where}:${name}`]), local);
  }

  /** env_file entries, read from the files the client sent; `environment` wins over them, as in Compose. */
  envFiles(value: unknown, path: Path): Record<string, string> {
    if (value === undefined || value === null) return {};
    const list = Array.isArray(value) ? value : [value];
    const out: Record<string, string> = {};
    list.forEach((entry, i) => {
      const at = Array.isArray(value) ? [...path, i] : path;
      const file = typeof entry === 'string' ? entry : isObj(entry) ? String(entry.path ?? '') : '';
      const required = isObj(entry) ? entry.required !== false : true;
      const text = this.options.files?.[fileKey(file)];
      if (text === undefined) {
        if (!required) return this.report.dropped(at, `"${file}" was not sent and is optional (required: false)`);
        return this.error(
          at,
          `"${file}" is read on the client, as docker compose reads it: use the CLI (berth apply/convert), or on the API send its content in "files" or move its variables under "environment"`,
        );
      }
      Object.assign(out, parseEnvFile(text));
      this.report.approximated(at, `read on the client: its variables are carried under environment`);
    });
    return out;
  }

  service(name: string, raw: Obj, top: Obj, secrets: Map<string, string>): ServiceSpecInput | undefined {
    const path: Path = ['services', name];
    const s = raw;
    const d = isObj(s.deploy) ? s.deploy : {};
    const handled = new Set([
      'image',
      'build',
      'command',
      'entrypoint',
      'environment',
      'env_file',
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
      'x-berth',
      'tmpfs',
      'privileged',
      'cap_add',
      'cap_drop',
      'network_mode',
      'pid',
      'ipc',
      'devices',
      'profiles',
      'secrets',
      'configs',
      'mem_limit',
      'mem_reservation',
      'cpus',
      'cpu_quota',
      'cpu_period',
      'scale',
      'extends',
    ]);
    for (const k of Object.keys(s)) {
      if (handled.has(k)) continue;
      if (k.startsWith('x-')) this.report.dropped([...path, k], 'extension fields are not deployed');
      else this.report.dropped([...path, k], DROP_REASONS[k] ?? 'not carried by Berth');
    }
    if (s.scale !== undefined && d.replicas !== undefined) this.report.dropped([...path, 'scale'], 'deploy.replicas wins');
    if (s.profiles !== undefined) this.report.carried([...path, 'profiles']);
    // image
    const override = this.options.images?.[name];
    let image = typeof s.image === 'string' && s.image !== '' ? s.image : undefined;
    if (override) {
      if (image) this.report.approximated([...path, 'image'], `replaced by the image given for the import: ${override}`);
      else this.report.approximated(path, `image given for the import: ${override}`);
      image = override;
    } else if (image) this.report.carried([...path, 'image']);
    if (s.build !== undefined)
      this.report.dropped([...path, 'build'], image ? 'Berth deploys the image and does not build it (as docker stack deploy)' : 'Berth does not build images');
    if (!image) {
      this.error(
        path,
        s.build !== undefined
          ? `has only a "build" section: Berth deploys images and does not build them; build and push the image, then add "image: <ref>" to the service, or give it for the import (CLI: --image ${name}=<ref>; API: ?image=${name}=<ref>)`
          : `has no "image": add "image: <ref>", or give it for the import (CLI: --image ${name}=<ref>; API: ?image=${name}=<ref>)`,
      );
      return undefined;
    }
    const deployPath = [...path, 'deploy'];
    this.only(d, deployPath, ['mode', 'replicas', 'resources', 'placement', 'update_config', 'rollback_config', 'restart_policy', 'labels', 'endpoint_mode']);
    let mode: 'replicated' | 'global' | undefined;
    if (d.mode === 'global' || d.mode === undefined || d.mode === 'replicated') {
      mode = d.mode === 'global' ? 'global' : 'replicated';
      if (d.mode !== undefined) this.report.carried([...deployPath, 'mode']);
    } else this.error([...deployPath, 'mode'], `"${String(d.mode)}" is not a service mode`);
    if (d.endpoint_mode !== undefined)
      this.report.approximated(
        [...deployPath, 'endpoint_mode'],
        'chosen by Berth: DNS round robin for stateful services, a virtual IP (ClusterIP on Kubernetes) otherwise',
      );
    let replicas = this.num(d.replicas, [...deployPath, 'replicas'], 'a whole number of replicas');
    if (replicas !== undefined) {
      this.report.carried([...deployPath, 'replicas']);
      this.origin([...path, 'replicas'], [...deployPath, 'replicas']);
    } else if (s.scale !== undefined) {
      replicas = this.num(s.scale, [...path, 'scale'], 'a whole number of replicas');
      this.report.approximated([...path, 'scale'], 'carried as deploy.replicas');
      this.origin([...path, 'replicas'], [...path, 'scale']);
    }
    const berth = this.only(s['x-berth'], [...path, 'x-berth'], ['stateful'], 'unknown Berth extension');
    if (berth.stateful !== undefined) this.report.carried([...path, 'x-berth', 'stateful']);
    const volumes = this.volumes(s.volumes, [...path, 'volumes'], isObj(top.volumes) ? top.volumes : {});
    if (s.tmpfs !== undefined && s.tmpfs !== null) {
      const list = Array.isArray(s.tmpfs) ? s.tmpfs : [s.tmpfs];
      list.forEach((t, i) => {
        volumes.push({ type: 'implicit', target: String(t).split(':')[0]! });
        this.report.approximated(
          Array.isArray(s.tmpfs) ? [...path, 'tmpfs', i] : [...path, 'tmpfs'],
          'carried as implicit storage: per-replica scratch space, on disk rather than in memory',
        );
      });
    }
    this.networks(s.networks, [...path, 'networks']);
    if (s.configs !== undefined && s.configs !== null)
      this.report.dropped(
        [...path, 'configs'],
        'configs are not carried yet: mount the file with a volume, or carry it as a secret (a file under /run/secrets)',
      );
    const env = { ...this.envFiles(s.env_file, [...path, 'env_file']), ...this.keyValues(s.environment, [...path, 'environment'], 'environment') };
    let hostname: string | undefined;
    if (s.hostname !== undefined && s.hostname !== null) {
      hostname = String(s.hostname);
      if (toDnsLabel(hostname) !== hostname || hostname.length > 63) {
        this.report.dropped([...path, 'hostname'], `"${hostname}" is not a DNS label; the service name is its host name`);
        hostname = undefined;
      } else this.report.carried([...path, 'hostname']);
    }
    let user = s.user === undefined || s.user === null ? undefined : String(s.user);
    if (user !== undefined)
      this.report.add(
        [...path, 'user'],
        'carried',
        undefined,
        /^\d+(:\d+)?$/.test(user)
          ? undefined
          : { kubernetes: { status: 'dropped', note: 'Kubernetes needs a numeric user id ("1000" or "1000:1000"); the image\'s user runs' } },
      );
    if (user === '') user = undefined;
    let workingDir = s.working_dir === undefined || s.working_dir === null ? undefined : String(s.working_dir);
    if (workingDir !== undefined) {
      if (!workingDir.startsWith('/')) {
        this.report.dropped([...path, 'working_dir'], `"${workingDir}" is not an absolute path in the container; the image's working directory is used`);
        workingDir = undefined;
      } else this.report.carried([...path, 'working_dir']);
    }
    const labels = this.labels(s.labels, [...path, 'labels']);
    const deployLabels = this.labels(d.labels, [...deployPath, 'labels']);
    if (Object.keys(labels).length) this.report.approximated([...path, 'labels'], 'container labels and deploy.labels become one set of service labels');
    const healthCheck = this.healthcheck(s.healthcheck, [...path, 'healthcheck']);
    if (healthCheck) this.origin([...path, 'healthCheck'], [...path, 'healthcheck']);
    const update = this.policy(d.update_config, [...deployPath, 'update_config'], false);
    if (update) this.origin([...path, 'update'], [...deployPath, 'update_config']);
    const rollback = this.policy(d.rollback_config, [...deployPath, 'rollback_config'], true) as ServiceSpecInput['rollback'];
    if (rollback) this.origin([...path, 'rollback'], [...deployPath, 'rollback_config']);
    for (const [specKey, composeKey] of [
      ['env', 'environment'],
      ['ports', 'ports'],
      ['volumes', 'volumes'],
      ['stopGracePeriod', 'stop_grace_period'],
      ['workingDir', 'working_dir'],
      ['mode', 'deploy.mode'],
      ['stateful', 'x-berth.stateful'],
      ['capAdd', 'cap_add'],
      ['capDrop', 'cap_drop'],
      ['hostNetwork', 'network_mode'],
      ['hostPid', 'pid'],
      ['hostIpc', 'ipc'],
    ] as const)
      this.origin([...path, specKey], [...path, ...composeKey.split('.')]);
    return {
      image,
      entrypoint: this.words(s.entrypoint, [...path, 'entrypoint']),
      command: this.words(s.command, [...path, 'command']),
      env,
      ports: this.ports(s.ports, [...path, 'ports']),
      labels: { ...labels, ...deployLabels },
      healthCheck,
      resources: this.resources(s, path),
      mode,
      replicas,
      stateful: berth.stateful === true ? true : undefined,
      hostname,
      volumes,
      secrets: this.secretMounts(s.secrets, [...path, 'secrets'], secrets),
      placement: this.placement(d, path),
      update,
      rollback,
      restart: this.restart(s, path),
      stopGracePeriod: this.duration(s.stop_grace_period, [...path, 'stop_grace_period']),
      workingDir,
      user,
      ...this.nodeAccess(s, path),
    };
  }
}

const TOP_KEYS = new Set(['version', 'name', 'services', 'volumes', 'networks', 'secrets', 'configs', 'include', 'models']);
/** Berth's limit on service and app names: the orchestrator's object names are prefixed with them. */
const MAX_NAME = 40;

/** The Compose key an AppSpec path came from (`services.web.healthCheck.retries` -> `services.web.healthcheck.retries`). */
export function composeKeyOf(origins: Record<string, string>, specPath: string): string {
  for (const [from, to] of Object.entries(origins).sort((a, b) => b[0].length - a[0].length)) {
    if (specPath === from || specPath.startsWith(`${from}.`) || specPath.startsWith(`${from}[`)) return to + specPath.slice(from.length);
  }
  return specPath;
}

/**
 * The import's report with what one orchestrator's plan said (its warnings, at AppSpec paths) added
 * to the Compose keys they came from: what the file becomes on that orchestrator.
 */
export function withOrchestratorWarnings(
  imported: Pick<ComposeImport, 'report' | 'origins'>,
  orchestrator: Orchestrator,
  warnings: { path: string; message: string }[],
): ComposeReport {
  const builder = new ReportBuilder();
  builder.entries.push(...imported.report.entries.map((e) => ({ ...e, ...(e.orchestrators ? { orchestrators: { ...e.orchestrators } } : {}) })));
  for (const w of warnings) builder.orchestratorNote(composeKeyOf(imported.origins, w.path), orchestrator, { status: 'approximated', note: w.message });
  return builder.build(imported.report.profiles);
}

/** A zod issue in plain words, located at the Compose key it came from. */
function plainIssue(issue: z.core.$ZodIssue, origins: Record<string, string>): SpecIssue {
  const key = composeKeyOf(origins, formatPath(issue.path as PropertyKey[]));
  let message = issue.message;
  const i = issue as { code: string; maximum?: unknown; minimum?: unknown; expected?: unknown; input?: unknown; keys?: string[] };
  if (i.code === 'too_big') message = `must be at most ${String(i.maximum)}`;
  else if (i.code === 'too_small') message = `must be at least ${String(i.minimum)}`;
  else if (i.code === 'invalid_type') message = i.input === undefined ? 'required' : `expected ${String(i.expected)}`;
  else if (i.code === 'unrecognized_keys') message = `unknown field(s) ${(i.keys ?? []).join(', ')}`;
  return { path: key, message };
}

/**
 * Converts a Compose file into an AppSpec, following the Compose Specification (interpolation, merge
 * keys, extends, env_file, profiles, short and long syntaxes). Every key is reported as carried,
 * approximated or dropped; input that no orchestrator could run throws a SpecValidationError naming
 * each Compose key and what to do.
 */
export function importCompose(yamlText: string, options: ComposeImportOptions = {}): ComposeImport {
  const importer = new Importer(options);
  const report = importer.report;
  const env = options.env ?? {};
  const parsed = loadYaml(yamlText, 'Compose file');
  const unset = new Map<string, Set<string>>();
  const top = interpolateTree(
    parsed,
    [],
    env,
    (path, name) => {
      const key = formatPath(path);
      if (!unset.has(key)) unset.set(key, new Set());
      unset.get(key)!.add(name);
    },
    (path, message) => importer.error(path, message),
  );
  if (!isObj(top)) throw new SpecValidationError('Compose file', [{ path: '', message: 'expected a YAML map with "services"' }]);
  for (const [key, names] of unset) {
    if (key.startsWith('x-')) continue;
    report.approximated(
      key.split(/\.|(?=\[)/),
      `variable${names.size > 1 ? 's' : ''} ${[...names].join(', ')} not set: substituted an empty string, as Compose does`,
    );
  }
  for (const k of Object.keys(top)) {
    if (k.startsWith('x-')) report.dropped([k], 'extension fields are not deployed (where anchors point into them, the keys are reported where they are used)');
    else if (!TOP_KEYS.has(k)) report.dropped([k], 'not a Compose top-level key');
  }
  if (top.version !== undefined) report.dropped(['version'], 'obsolete in the Compose Specification; ignored, as docker compose ignores it');
  if (top.include !== undefined)
    importer.error(['include'], 'other Compose files are not merged by the import: merge them into one (docker compose config prints the merged file)');
  if (top.models !== undefined) report.dropped(['models'], 'AI models of docker compose are not deployed');
  if (top.configs !== undefined) report.dropped(['configs'], 'configs are not carried yet: mount the file with a volume, or carry it as a secret');
  if (isObj(top.networks))
    for (const n of Object.keys(top.networks)) report.dropped(['networks', n], 'every app gets one network of its own, which all its services join');
  const secrets = importer.topSecrets(top.secrets);

  let name = options.name ?? (typeof top.name === 'string' && top.name !== '' ? top.name : undefined);
  if (name !== undefined && !options.name) {
    const fixed = toDnsLabel(name);
    if (fixed !== name) report.approximated(['name'], `app name "${name}" renamed to "${fixed}": names must be DNS labels`);
    else report.carried(['name']);
    name = fixed;
  } else if (top.name !== undefined) report.approximated(['name'], `the app is named "${name}" as asked for the import`);
  if (!name)
    importer.error(
      ['name'],
      'required: the file has no top-level "name"; add `name: <app>` to it, or name the app with ?name=<app> (REST), the name argument (GraphQL) or --name (CLI)',
    );
  else if (name.length > MAX_NAME)
    importer.error(
      ['name'],
      `the app name "${name}" has ${name.length} characters; Berth allows at most ${MAX_NAME} (object names on the orchestrator are built from it): give a shorter name`,
    );

  const active = [...(options.profiles ?? []), ...(env.COMPOSE_PROFILES ?? '').split(',')].map((p) => p.trim()).filter(Boolean);
  const skipped: string[] = [];
  const allServices = isObj(top.services) ? top.services : {};
  if (Object.keys(allServices).length === 0) importer.error(['services'], 'expected at least one service');
  const services: Record<string, ServiceSpecInput> = {};
  for (const [svcName, raw] of Object.entries(allServices)) {
    const path = ['services', svcName];
    if (!isObj(raw)) {
      importer.error(path, 'expected a map');
      continue;
    }
    const profiles = Array.isArray(raw.profiles) ? raw.profiles.map(String) : [];
    if (profiles.length && !profiles.some((p) => active.includes(p)) && !active.includes('*')) {
      skipped.push(svcName);
      report.dropped(
        path,
        `not deployed: it runs only under profile ${profiles.map((p) => `"${p}"`).join(' or ')}, which was not asked for (ask with ?profile=${profiles[0]} or --profile ${profiles[0]})`,
      );
      continue;
    }
    const mode = isObj(raw.deploy) ? raw.deploy.mode : undefined;
    if (mode === 'replicated-job' || mode === 'global-job') {
      report.dropped(
        path,
        `a run-once job (deploy.mode "${String(mode)}") is not a service of the app: run it with the jobs API (POST /v1/clusters/{cluster}/jobs)`,
      );
      continue;
    }
    const dns = toDnsLabel(svcName);
    if (dns.length > MAX_NAME) {
      importer.error(
        path,
        `the service name has ${dns.length} characters; Berth allows at most ${MAX_NAME} (the orchestrator's object is named "<app>-<service>" and must fit 63): rename the service, and the references to it`,
      );
      continue;
    }
    const merged = importer.extended(svcName, raw, allServices, path);
    if (dns !== svcName) importer.dnsName(svcName, path, 'service');
    if (dns !== svcName) importer.origin(['services', dns], path);
    const svc = importer.service(svcName, merged, top, secrets);
    if (!svc) continue;
    // origins were recorded under the Compose name: the spec uses the DNS name
    if (dns !== svcName)
      for (const [k, v] of Object.entries(importer.origins))
        if (k.startsWith(`services.${svcName}.`)) {
          importer.origins[`services.${dns}${k.slice(`services.${svcName}`.length)}`] = v;
          delete importer.origins[k];
        }
    services[dns] = svc;
  }
  if (Object.keys(allServices).length > 0 && Object.keys(services).length === 0 && importer.errors.length === 0)
    importer.error(
      ['services'],
      `no service is left to deploy (${skipped.length ? `profiles not asked for: ${skipped.join(', ')}` : 'every service is a job'})`,
    );
  const volumes = importer.topVolumes(top.volumes);
  if (importer.errors.length > 0) throw new SpecValidationError('Compose file', importer.errors);
  const values = options.secretValues ?? {};
  const appSecrets = Object.fromEntries([...secrets].map(([composeName, n]) => [n, values[composeName] !== undefined ? { value: values[composeName] } : {}]));
  const result = AppSpec.safeParse({ name, services, volumes, secrets: appSecrets });
  if (!result.success)
    throw new SpecValidationError(
      'Compose file',
      result.error.issues.map((i) => plainIssue(i, importer.origins)),
    );
  const built = report.build({ active, skippedServices: skipped });
  return { spec: result.data, warnings: warningsOf(built), report: built, origins: importer.origins };
}
