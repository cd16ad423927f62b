import { PassThrough } from 'node:stream';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  Exec,
  KubeConfig,
  StorageV1Api,
  type V1Pod,
  type V1PodTemplateSpec,
  type V1StatefulSet,
  type V1Status,
} from '@kubernetes/client-node';
import type { NativeMount, NativeProbe } from '@berth/testkit';
import type { ServiceRef } from '@berth/driver';

/**
 * Reads the Kubernetes API directly with client-node, never through the driver, so the conformance
 * suite checks what the cluster really holds. The suite's pods run on the test cluster's real node
 * (packages/testenv/k8s/node-up.sh): discovery, volume data and secret files are proven from inside
 * the running containers (exec through the API server), as on Swarm, besides the API objects.
 */
export class KubernetesNativeProbe implements NativeProbe {
  readonly hostPath = '/tmp';
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly execer: Exec;

  constructor(
    kc: KubeConfig,
    readonly sharedVolume: { storageClass: string },
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    this.execer = new Exec(kc);
  }

  /** Runs a command in the pod's first container; resolves with its output, rejects on a non-zero exit. */
  async exec(namespace: string, pod: string, cmd: string[]): Promise<string> {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const status = await new Promise<V1Status | undefined>((resolve, reject) => {
      this.execer
        .exec(namespace, pod, '', cmd, out, out, null, false, (s) => resolve(s))
        .then((ws) => ws.on('close', () => setTimeout(() => resolve(undefined), 200)))
        .catch(reject);
    });
    if (status?.status !== 'Success') throw new Error(`\`${cmd.join(' ')}\` in pod ${namespace}/${pod} failed (${status?.message ?? 'no status'}): ${text}`);
    return text;
  }

  /** A ready pod of the service (the newest first), to run commands in. */
  private async readyPod(ref: ServiceRef): Promise<string> {
    const pods = (await this.pods(ref)).filter(KubernetesNativeProbe.ready);
    pods.sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
    const name = pods[0]?.metadata?.name;
    if (!name) throw new Error(`no ready pod of ${ref.app}/${ref.service} to run a command in`);
    return name;
  }

  static async connect(kubeconfig: string): Promise<KubernetesNativeProbe> {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    const classes = await kc.makeApiClient(StorageV1Api).listStorageClass();
    const byDefault = classes.items.find((c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
    if (!byDefault?.metadata?.name) throw new Error('the test cluster has no default StorageClass (packages/testenv/k8s/up.sh creates "standard")');
    return new KubernetesNativeProbe(kc, { storageClass: byDefault.metadata.name });
  }

  private async pods(ref: ServiceRef): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({ namespace: ref.app, labelSelector: `berth.io/app=${ref.app},berth.io/service=${ref.service}` });
    return list.items.filter((p) => !p.metadata?.deletionTimestamp);
  }

  private static ready(pod: V1Pod): boolean {
    return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  }

  private async template(ref: ServiceRef): Promise<{ template: V1PodTemplateSpec; statefulSet?: V1StatefulSet }> {
    const { app: namespace, service: name } = ref;
    const notFound = (e: unknown) => ((e as { code?: number }).code === 404 ? undefined : Promise.reject(e));
    const [d, s, ds] = await Promise.all([
      this.apps.readNamespacedDeployment({ name, namespace }).catch(notFound),
      this.apps.readNamespacedStatefulSet({ name, namespace }).catch(notFound),
      this.apps.readNamespacedDaemonSet({ name, namespace }).catch(notFound),
    ]);
    const template = d?.spec?.template ?? s?.spec?.template ?? ds?.spec?.template;
    if (!template) throw new Error(`namespace ${namespace} has no Deployment, StatefulSet or DaemonSet "${name}"`);
    return { template, ...(s ? { statefulSet: s } : {}) };
  }

  async replicaImages(ref: ServiceRef): Promise<string[]> {
    const pods = await this.pods(ref);
    return pods.filter(KubernetesNativeProbe.ready).map((p) => p.spec?.containers[0]?.image ?? '');
  }

  async desiredImage(ref: ServiceRef): Promise<string> {
    const { template } = await this.template(ref);
    return template.spec?.containers[0]?.image ?? '';
  }

  async mounts(ref: ServiceRef): Promise<NativeMount[]> {
    const { template, statefulSet } = await this.template(ref);
    const volumes = template.spec?.volumes ?? [];
    const claimTemplates = statefulSet?.spec?.volumeClaimTemplates ?? [];
    return (template.spec?.containers[0]?.volumeMounts ?? []).map((m) => {
      const v = volumes.find((x) => x.name === m.name);
      if (v?.emptyDir) return { type: 'emptyDir', target: m.mountPath };
      if (v?.hostPath) return { type: 'hostPath', source: v.hostPath.path, target: m.mountPath };
      if (v?.persistentVolumeClaim) return { type: 'persistentVolumeClaim', source: v.persistentVolumeClaim.claimName, target: m.mountPath };
      if (claimTemplates.some((t) => t.metadata?.name === m.name)) return { type: 'volumeClaimTemplate', source: m.name, target: m.mountPath };
      return { type: 'unknown', target: m.mountPath };
    });
  }

  /** IPv4 answers of busybox nslookup (the resolver's own "Address: 10.88.0.1:53" line excluded). */
  private static addresses(output: string): string[] {
    return [...output.matchAll(/^Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!).sort();
  }

  /** The IPv4 addresses `name` resolves to from inside a ready pod of `from` (none when it does not resolve). */
  async lookup(from: ServiceRef, name: string): Promise<string[]> {
    const source = await this.readyPod(from);
    return KubernetesNativeProbe.addresses(await this.exec(from.app, source, ['nslookup', name]).catch((e: Error) => e.message));
  }

  /** Pod name -> pod IP of the service's running pods. */
  async podAddresses(ref: ServiceRef): Promise<Record<string, string>> {
    const pods = await this.pods(ref);
    return Object.fromEntries(pods.filter((p) => p.status?.podIP).map((p) => [p.metadata?.name ?? '', p.status!.podIP!]));
  }

  /**
   * `dnsName` must be the cluster DNS name of a Service `to` in the app's namespace; its
   * EndpointSlices must list every ready pod of `to`; and from inside a pod of `from` the name must
   * resolve to the Service's ClusterIP and answer HTTP there and at every pod address.
   */
  async checkDiscovery(app: string, from: string, to: string, dnsName: string): Promise<void> {
    if (dnsName !== `${to}.${app}.svc.cluster.local`) throw new Error(`expected the DNS name ${to}.${app}.svc.cluster.local, got ${dnsName}`);
    const service = await this.core.readNamespacedService({ name: to, namespace: app });
    const targets = (await this.pods({ app, service: to })).filter(KubernetesNativeProbe.ready);
    if (targets.length === 0) throw new Error(`no ready pod of "${to}"`);
    const slices = await this.discovery.listNamespacedEndpointSlice({ namespace: app, labelSelector: `kubernetes.io/service-name=${to}` });
    const readyAddresses = new Set(slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)));
    const missing = targets.filter((p) => !p.status?.podIP || !readyAddresses.has(p.status.podIP));
    if (missing.length)
      throw new Error(`EndpointSlices of ${to} lack ready addresses for ${missing.map((p) => `${p.metadata?.name} (${p.status?.podIP})`).join(', ')}`);

    const source = await this.readyPod({ app, service: from });
    const clusterIp = service.spec?.clusterIP;
    const byName = KubernetesNativeProbe.addresses(await this.exec(app, source, ['nslookup', dnsName]).catch((e: Error) => e.message));
    if (!clusterIp || byName.join() !== clusterIp)
      throw new Error(`"${dnsName}" resolved to [${byName}] from ${from}; the Service's ClusterIP is ${clusterIp}`);
    for (const address of [to, ...targets.map((p) => p.status!.podIP!)]) {
      const answer = await this.exec(app, source, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${address} 80`]);
      if (!/^HTTP\/1\.[01] 200/.test(answer)) throw new Error(`HTTP GET to ${to} at ${address} from ${from} answered: ${JSON.stringify(answer)}`);
    }
  }

  /** Replica 1 of a stateful service is its pod with ordinal 0. */
  async writeFile(ref: ServiceRef, path: string, content: string): Promise<void> {
    await this.exec(ref.app, `${ref.service}-0`, ['sh', '-c', 'printf %s "$1" > "$2"', 'sh', content, path]);
  }

  async readFile(ref: ServiceRef, path: string): Promise<string> {
    return this.exec(ref.app, `${ref.service}-0`, ['cat', path]);
  }

  async checkPerReplicaStorage(ref: ServiceRef, volume: string): Promise<void> {
    const { statefulSet } = await this.template(ref);
    const replicas = statefulSet?.spec?.replicas ?? 0;
    if (!statefulSet || replicas < 1) throw new Error(`${ref.service} is not a StatefulSet with replicas`);
    const claims = new Set<string>();
    for (let i = 0; i < replicas; i++) {
      const podName = `${ref.service}-${i}`;
      const pod = await this.core.readNamespacedPod({ name: podName, namespace: ref.app });
      const claim = pod.spec?.volumes?.find((v) => v.name === volume)?.persistentVolumeClaim?.claimName;
      if (claim !== `${volume}-${podName}`) throw new Error(`pod ${podName} mounts claim ${claim ?? 'none'}, expected ${volume}-${podName}`);
      const pvc = await this.core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: ref.app });
      if (pvc.status?.phase !== 'Bound') throw new Error(`claim ${claim} is ${pvc.status?.phase ?? 'without a phase'}, not Bound`);
      claims.add(pvc.spec?.volumeName ?? '');
    }
    if (claims.size !== replicas) throw new Error(`expected ${replicas} distinct volumes, got ${claims.size}`);
  }

  /** Read inside a ready replica, where the kubelet mounts the Secret; it must be immutable. */
  async secretFile(ref: ServiceRef, file: string): Promise<string> {
    const { template } = await this.template(ref);
    const mount = template.spec?.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/run/secrets');
    const volume = template.spec?.volumes?.find((v) => v.name === mount?.name);
    const source = volume?.projected?.sources?.find((s) => s.secret?.items?.some((i) => i.path === file))?.secret;
    if (!source?.name) throw new Error(`the pod template of ${ref.app}/${ref.service} mounts no secret file "${file}" under /run/secrets`);
    const secret = await this.core.readNamespacedSecret({ name: source.name, namespace: ref.app });
    if (!secret.immutable) throw new Error(`Secret ${source.name} is not immutable`);
    return this.exec(ref.app, await this.readyPod(ref), ['cat', `/run/secrets/${file}`]);
  }

  /** A namespace being deleted with nothing left in it counts as gone: deletion finishes asynchronously. */
  async leftovers(app: string, includeVolumes: boolean): Promise<string[]> {
    const namespace = app;
    const [d, s, ds, svc, jobs, pvcs, secrets] = await Promise.all([
      this.apps.listNamespacedDeployment({ namespace }),
      this.apps.listNamespacedStatefulSet({ namespace }),
      this.apps.listNamespacedDaemonSet({ namespace }),
      this.core.listNamespacedService({ namespace }),
      this.batch.listNamespacedJob({ namespace }),
      includeVolumes ? this.core.listNamespacedPersistentVolumeClaim({ namespace }) : Promise.resolve({ items: [] }),
      this.core.listNamespacedSecret({ namespace, labelSelector: 'berth.io/secret' }),
    ]);
    const left = [
      ...d.items.map((o) => `Deployment/${o.metadata?.name}`),
      ...s.items.map((o) => `StatefulSet/${o.metadata?.name}`),
      ...ds.items.map((o) => `DaemonSet/${o.metadata?.name}`),
      ...svc.items.map((o) => `Service/${o.metadata?.name}`),
      ...jobs.items.map((o) => `Job/${o.metadata?.name}`),
      ...pvcs.items.map((o) => `PersistentVolumeClaim/${o.metadata?.name}`),
      ...secrets.items.map((o) => `Secret/${o.metadata?.name}`),
    ];
    const ns = await this.core.readNamespace({ name: namespace }).catch((e: { code?: number }) => (e.code === 404 ? undefined : Promise.reject(e)));
    if (ns && !(ns.status?.phase === 'Terminating' && left.length === 0)) left.push(`Namespace/${namespace}`);
    return left;
  }
}
