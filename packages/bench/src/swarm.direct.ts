import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import Dockerode from 'dockerode';

const STACK = 'com.docker.stack.namespace';

/** The fields of an engine service this benchmark reads (the engine's JSON, not dockerode's types). */
export interface EngineServiceView {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string>; TaskTemplate: { ContainerSpec: { Image: string } } } & Record<string, unknown>;
  UpdateStatus?: { State?: string };
}

export interface EngineTaskView {
  ServiceID: string;
  Status?: { State?: string };
  Spec?: { ContainerSpec?: { Image?: string } };
}

/** The engine API without Berth: what a script using dockerode (or the docker CLI) does. */
export class SwarmDirect {
  readonly docker: Dockerode;

  constructor(readonly socketPath: string) {
    this.docker = new Dockerode({ socketPath });
  }

  /**
   * What the driver needs to answer "the services of an app with their endpoints": the stack's
   * services (with their running/desired counts) and its tasks, both filtered by the stack label.
   */
  async listStack(app: string): Promise<{ services: Dockerode.Service[]; tasks: unknown[] }> {
    const filters = { label: [`${STACK}=${app}`] };
    const [services, tasks] = await Promise.all([
      this.docker.listServices({ filters, status: true } as Dockerode.ServiceListOptions),
      this.docker.listTasks({ filters } as object),
    ]);
    return { services: services as unknown as Dockerode.Service[], tasks: tasks as unknown[] };
  }

  async serviceByName(name: string): Promise<EngineServiceView | undefined> {
    const list = (await this.docker.listServices({ filters: { name: [name] } } as Dockerode.ServiceListOptions)) as unknown as EngineServiceView[];
    return list.find((s) => s.Spec.Name === name);
  }

  async requireService(name: string): Promise<EngineServiceView> {
    const service = await this.serviceByName(name);
    if (!service) throw new Error(`service ${name} is not on the engine`);
    return service;
  }

  /** `docker service update --image`: a change made outside Berth. */
  async setImage(serviceName: string, image: string): Promise<void> {
    const service = this.docker.getService(serviceName);
    const info = (await service.inspect()) as { Version: { Index: number }; Spec: { TaskTemplate: { ContainerSpec: { Image: string } } } };
    info.Spec.TaskTemplate.ContainerSpec.Image = image;
    await service.update({ ...info.Spec, version: info.Version.Index });
  }

  /** Tasks of one service that run now, and whether the service's last update has completed. */
  async convergence(serviceName: string, image: string): Promise<{ running: number; updateDone: boolean }> {
    const [tasks, service] = await Promise.all([
      this.docker.listTasks({ filters: { service: [serviceName], 'desired-state': ['running'] } } as object) as Promise<EngineTaskView[]>,
      this.serviceByName(serviceName),
    ]);
    const running = tasks.filter((t) => t.Status?.State === 'running' && String(t.Spec?.ContainerSpec?.Image ?? '').startsWith(image)).length;
    const state = service?.UpdateStatus?.State as string | undefined;
    return { running, updateDone: state === undefined || state === 'completed' };
  }

  /** Removes whatever of the stack is left (services, then its networks once their tasks are gone). */
  async removeStack(app: string): Promise<void> {
    const filters = { label: [`${STACK}=${app}`] };
    for (const s of (await this.docker.listServices({ filters } as Dockerode.ServiceListOptions)) as unknown as EngineServiceView[]) {
      await this.docker
        .getService(s.ID)
        .remove()
        .catch(() => undefined);
    }
    for (let i = 0; i < 120; i++) {
      const containers = await this.docker.listContainers({ all: true, filters: { label: [`${STACK}=${app}`] } });
      const networks = await this.docker.listNetworks({ filters });
      for (const n of networks)
        await this.docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
      if (!containers.length && !networks.length) return;
      await sleep(250);
    }
  }

  /** The stacks (namespaces) that exist now and whose name starts with `prefix`. */
  async stacksWithPrefix(prefix: string): Promise<string[]> {
    const services = (await this.docker.listServices({ filters: { label: [STACK] } } as Dockerode.ServiceListOptions)) as unknown as EngineServiceView[];
    const networks = await this.docker.listNetworks({ filters: { label: [STACK] } });
    const names = [...services.map((s) => s.Spec.Labels?.[STACK]), ...networks.map((n) => n.Labels?.[STACK])];
    return [...new Set(names.filter((n): n is string => !!n?.startsWith(prefix)))];
  }

  /**
   * The raw /events stream (newline-delimited JSON) over the socket, without dockerode: each line
   * with the wall-clock time it arrived.
   */
  rawEvents(onLine: (line: string, receivedAtMs: number) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path: '/events', method: 'GET', signal }, (res) => {
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.timeOrigin + performance.now();
          const parts = (rest + chunk).split('\n');
          rest = parts.pop()!;
          for (const line of parts) if (line.trim()) onLine(line, at);
        });
        res.on('end', resolve);
        res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      });
      req.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      req.end();
    });
  }
}
