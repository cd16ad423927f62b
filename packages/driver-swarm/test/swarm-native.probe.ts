import { mkdirSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import Dockerode from 'dockerode';
import type { NativeMount, NativeProbe } from '@berth/testkit';
import type { ServiceRef } from '@berth/driver';

/**
 * Reads the Docker engine directly with dockerode, never through the driver, so the conformance
 * suite checks what the engine really runs. Connectivity is proven through task IPs: on this
 * machine traffic to a VIP and the ingress mesh does not flow (no IPVS in the kernel).
 */

interface Task {
  ID: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
  Spec: { ContainerSpec: { Image: string } };
  NetworksAttachments?: { Network: { ID: string }; Addresses?: string[] }[];
}

interface Service {
  ID: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate: { ContainerSpec: { Image: string; Mounts?: { Type: string; Source?: string; Target: string }[] }; Networks?: { Target: string }[] };
  };
  Endpoint?: { VirtualIPs?: { NetworkID: string; Addr?: string }[] };
}

const STACK = 'com.docker.stack.namespace';
const native = (ref: ServiceRef) => `${ref.app}_${ref.service}`;
const stripCidr = (a: string) => a.replace(/\/\d+$/, '');

export class SwarmNativeProbe implements NativeProbe {
  readonly docker: Dockerode;
  readonly sharedVolume = { driver: 'local', driverOptions: { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' } };
  readonly hostPath = '/tmp/berth-conformance-host';

  constructor(socketPath: string) {
    this.docker = new Dockerode({ socketPath });
    mkdirSync(this.hostPath, { recursive: true });
  }

  private async service(name: string): Promise<Service> {
    const found = ((await this.docker.listServices({ filters: { name: [name] } })) as unknown as Service[]).find((s) => s.Spec.Name === name);
    if (!found) throw new Error(`the engine has no service "${name}"`);
    return found;
  }

  /**
   * The engine services a Berth service runs as: itself, or for a stateful service its members
   * `<app>_<service>-<n>` (labelled berth.io/member), in ordinal order.
   */
  private async members(ref: ServiceRef): Promise<Service[]> {
    const listed = (await this.docker.listServices({ filters: { name: [native(ref)] } })) as unknown as Service[];
    const plain = listed.find((s) => s.Spec.Name === native(ref));
    if (plain) return [plain];
    const member = (s: Service) => Number(s.Spec.Labels?.['berth.io/member']);
    return listed
      .filter((s) => s.Spec.Labels?.['berth.io/member'] !== undefined && s.Spec.Labels['berth.io/service'] === ref.service)
      .sort((a, b) => member(a) - member(b));
  }

  /** Running tasks of a Berth service; for members, Slot is the member's ordinal + 1 (its replica number). */
  private async serviceTasks(ref: ServiceRef): Promise<Task[]> {
    const services = await this.members(ref);
    if (services.length === 1 && services[0]!.Spec.Name === native(ref)) return this.runningTasks(native(ref));
    const tasks: Task[] = [];
    for (const s of services) for (const t of await this.runningTasks(s.Spec.Name)) tasks.push({ ...t, Slot: Number(s.Spec.Labels!['berth.io/member']) + 1 });
    return tasks;
  }

  private async first(ref: ServiceRef): Promise<Service> {
    const found = (await this.members(ref))[0];
    if (!found) throw new Error(`the engine has no service "${native(ref)}" (nor members of it)`);
    return found;
  }

  private async runningTasks(name: string): Promise<Task[]> {
    const tasks = (await this.docker.listTasks({ filters: { service: [name] } })) as Task[];
    return tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
  }

  /** Runs a command in a container; resolves with its output, rejects on a non-zero exit. */
  async exec(containerId: string, cmd: string[]): Promise<string> {
    const exec = await this.docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    this.docker.modem.demuxStream(stream, out, out);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const { ExitCode } = await exec.inspect();
    if (ExitCode !== 0) throw new Error(`\`${cmd.join(' ')}\` in ${containerId.slice(0, 12)} exited ${ExitCode}: ${text}`);
    return text;
  }

  private async slotContainer(ref: ServiceRef, slot: number): Promise<string> {
    const task = (await this.serviceTasks(ref)).find((t) => t.Slot === slot);
    const id = task?.Status.ContainerStatus?.ContainerID;
    if (!id) throw new Error(`no running task in slot ${slot} of ${native(ref)}`);
    return id;
  }

  async replicaImages(ref: ServiceRef): Promise<string[]> {
    return (await this.serviceTasks(ref)).map((t) => t.Spec.ContainerSpec.Image).sort();
  }

  async desiredImage(ref: ServiceRef): Promise<string> {
    return (await this.first(ref)).Spec.TaskTemplate.ContainerSpec.Image;
  }

  async mounts(ref: ServiceRef): Promise<NativeMount[]> {
    const mounts = (await this.first(ref)).Spec.TaskTemplate.ContainerSpec.Mounts ?? [];
    return mounts.map((m) => ({ type: m.Type, ...(m.Source ? { source: m.Source } : {}), target: m.Target }));
  }

  /** IPv4 answers of busybox nslookup (the resolver's own "Address: 127.0.0.11:53" line excluded). */
  private static addresses(output: string): string[] {
    return [...output.matchAll(/^Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!).sort();
  }

  async checkDiscovery(app: string, from: string, to: string, dnsName: string): Promise<void> {
    const target = await this.service(`${app}_${to}`);
    const networkId = target.Spec.TaskTemplate.Networks?.[0]?.Target;
    const vips = (target.Endpoint?.VirtualIPs ?? []).filter((v) => v.NetworkID === networkId && v.Addr).map((v) => stripCidr(v.Addr!));
    const taskIps = (await this.runningTasks(`${app}_${to}`))
      .map((t) => t.NetworksAttachments?.find((a) => a.Network.ID === networkId)?.Addresses?.[0])
      .filter((a): a is string => !!a)
      .map(stripCidr)
      .sort();
    if (!taskIps.length) throw new Error(`${app}_${to} has no running task with an address on its app network`);

    const source = (await this.serviceTasks({ app, service: from }))[0]?.Status.ContainerStatus?.ContainerID;
    if (!source) throw new Error(`no running container of ${app}_${from} to probe from`);
    const lookup = async (name: string) => SwarmNativeProbe.addresses(await this.exec(source, ['nslookup', name]).catch((e: Error) => e.message));

    const byName = await lookup(dnsName);
    const expected = vips.length ? vips : taskIps;
    if (!byName.length || !byName.every((a) => expected.includes(a))) {
      throw new Error(`"${dnsName}" resolved to [${byName}] from ${from}; the engine says [${expected}]`);
    }
    const byTasks = await lookup(`tasks.${app}_${to}`);
    if (byTasks.join() !== taskIps.join()) throw new Error(`tasks.${app}_${to} resolved to [${byTasks}]; the engine's task IPs are [${taskIps}]`);
    for (const ip of byTasks) {
      const answer = await this.exec(source, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 80`]);
      if (!/^HTTP\/1\.[01] 200/.test(answer)) throw new Error(`HTTP GET to ${to} at ${ip} from ${from} answered: ${JSON.stringify(answer)}`);
    }
  }

  async writeFile(ref: ServiceRef, path: string, content: string): Promise<void> {
    await this.exec(await this.slotContainer(ref, 1), ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', content, path]);
  }

  async readFile(ref: ServiceRef, path: string): Promise<string> {
    return this.exec(await this.slotContainer(ref, 1), ['cat', path]);
  }

  /** Read inside replica 1, where the engine mounts it. */
  async secretFile(ref: ServiceRef, file: string): Promise<string> {
    return this.readFile(ref, `/run/secrets/${file}`);
  }

  async checkPerReplicaStorage(ref: ServiceRef, volume: string): Promise<void> {
    const services = await this.members(ref);
    const isMembers = services[0]?.Spec.Name !== native(ref);
    const tasks = await this.serviceTasks(ref);
    if (tasks.length < 2) throw new Error(`expected at least 2 running replicas of ${native(ref)}, found ${tasks.length}`);
    const seen = new Set<string>();
    for (const t of tasks) {
      const container = await this.docker.getContainer(t.Status.ContainerStatus!.ContainerID!).inspect();
      const names = container.Mounts.filter((m) => m.Type === 'volume').map((m) => m.Name);
      // a member's volume carries its ordinal (the member's name), a templated one the task slot
      const want = `${ref.app}_${volume}-${isMembers ? t.Slot! - 1 : t.Slot}`;
      if (!names.includes(want)) throw new Error(`slot ${t.Slot} of ${native(ref)} mounts [${names.join(', ')}], not "${want}"`);
      seen.add(want);
    }
    if (seen.size !== tasks.length) throw new Error(`replicas of ${native(ref)} share volumes: ${[...seen].join(', ')}`);
  }

  async leftovers(app: string, includeVolumes: boolean): Promise<string[]> {
    const ours = (name: string) => name.startsWith(`${app}_`);
    const [services, networks, containers, volumes, secrets] = await Promise.all([
      this.docker.listServices(),
      this.docker.listNetworks(),
      this.docker.listContainers({ all: true, filters: { label: [`${STACK}=${app}`] } }),
      includeVolumes ? this.docker.listVolumes() : Promise.resolve({ Volumes: [] }),
      this.docker.listSecrets({ filters: { label: [`berth.io/app=${app}`] } }),
    ]);
    return [
      ...services.filter((s) => ours(s.Spec?.Name ?? '') || s.Spec?.Labels?.[STACK] === app).map((s) => `service/${s.Spec?.Name}`),
      ...networks.filter((n) => ours(n.Name)).map((n) => `network/${n.Name}`),
      ...containers.map((c) => `container/${(c.Names[0] ?? c.Id).replace(/^\//, '')}`),
      ...(volumes.Volumes ?? []).filter((v) => ours(v.Name) || v.Labels?.['berth.io/app'] === app).map((v) => `volume/${v.Name}`),
      ...secrets.map((s) => `secret/${s.Spec?.Name}`),
    ];
  }
}
