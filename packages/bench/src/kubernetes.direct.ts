import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';

/**
 * client-node 2 builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication ->
 * createDispatcher), so every call opens a new TLS connection: 40 rounds of two lists left 80 open
 * connections and took 27 ms a round, against 4 connections and 6-10 ms with one dispatcher. The
 * direct path keeps one, so it measures the API server rather than a handshake per call.
 */
function keepAlive(kc: KubeConfig): KubeConfig {
  // createDispatcher is private in client-node's types: shadowed on the instance
  const target = kc as unknown as { createDispatcher(...args: unknown[]): unknown };
  const create = target.createDispatcher.bind(kc);
  let dispatcher: unknown;
  target.createDispatcher = (...args: unknown[]) => (dispatcher ??= create(...args));
  return kc;
}

/** The API server without Berth: what a script using @kubernetes/client-node does (with one connection pool). */
export class KubernetesDirect {
  readonly kubeconfig: string;
  private readonly kc = keepAlive(new KubeConfig());
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly objects: KubernetesObjectApi;

  constructor(kubeconfigPath: string) {
    this.kubeconfig = readFileSync(kubeconfigPath, 'utf8');
    this.kc.loadFromString(this.kubeconfig);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.discovery = this.kc.makeApiClient(DiscoveryV1Api);
    this.objects = KubernetesObjectApi.makeApiClient(this.kc);
  }

  /** What it takes to answer "the services of an app with their endpoints": four lists in the namespace. */
  async listApp(namespace: string): Promise<{ deployments: number; services: number; slices: number; pods: number }> {
    const [deployments, services, slices, pods] = await Promise.all([
      this.apps.listNamespacedDeployment({ namespace }),
      this.core.listNamespacedService({ namespace }),
      this.discovery.listNamespacedEndpointSlice({ namespace }),
      this.core.listNamespacedPod({ namespace }),
    ]);
    return { deployments: deployments.items.length, services: services.items.length, slices: slices.items.length, pods: pods.items.length };
  }

  /** Creates the objects in order, as `kubectl create -f` would. */
  async create(objects: KubernetesObject[]): Promise<void> {
    for (const o of objects) await this.objects.create(o);
  }

  async deployment(namespace: string, name: string): Promise<V1Deployment> {
    return this.apps.readNamespacedDeployment({ namespace, name });
  }

  /** `kubectl rollout status`: the controller saw the latest spec, and every replica is updated and available. */
  static rolledOut(d: V1Deployment): boolean {
    const want = d.spec?.replicas ?? 1;
    const s = d.status ?? {};
    return (
      (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
      (s.updatedReplicas ?? 0) === want &&
      (s.replicas ?? 0) === want &&
      (s.availableReplicas ?? 0) === want
    );
  }

  async setImage(namespace: string, name: string, image: string): Promise<void> {
    const d = await this.deployment(namespace, name);
    d.spec!.template.spec!.containers[0]!.image = image;
    await this.apps.replaceNamespacedDeployment({ namespace, name, body: d });
  }

  async deleteNamespace(namespace: string, wait = true): Promise<void> {
    await this.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    if (!wait) return;
    for (let i = 0; i < 240; i++) {
      const gone = await this.core.readNamespace({ name: namespace }).then(
        () => false,
        () => true,
      );
      if (gone) return;
      await sleep(250);
    }
  }

  async namespacesWithPrefix(prefix: string): Promise<string[]> {
    const list = await this.core.listNamespace();
    return list.items.map((n) => n.metadata?.name ?? '').filter((n) => n.startsWith(prefix));
  }

  /**
   * A raw watch (newline-delimited JSON over HTTPS, client certificates from the kubeconfig): each
   * notification with the wall-clock time it arrived.
   */
  async rawWatch(path: string, onLine: (line: string, receivedAtMs: number) => void, signal: AbortSignal): Promise<void> {
    const server = new URL(this.kc.getCurrentCluster()!.server);
    const options: RequestOptions = { hostname: server.hostname, port: server.port, path, method: 'GET', signal, headers: {} };
    await this.kc.applyToHTTPSOptions(options);
    await new Promise<void>((resolve, reject) => {
      const req = request(options, (res) => {
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
