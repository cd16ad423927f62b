import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  StorageV1Api,
  type V1Pod,
  type V1PodTemplateSpec,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { NativeMount, NativeProbe } from '@berth/testkit';
import type { ServiceRef } from '@berth/driver';

/**
 * Reads the Kubernetes API directly with client-node, never through the driver, so the conformance
 * suite checks what the cluster really holds. On kwok no container runs: discovery and per-replica
 * storage are proven from the API objects (Service, EndpointSlices, claims), not from inside pods.
 */
export class KubernetesNativeProbe implements NativeProbe {
  readonly hostPath = '/tmp';
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly discovery: DiscoveryV1Api;

  constructor(
    kc: KubeConfig,
    readonly sharedVolume: { storageClass: string },
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
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

  /**
   * API-level discovery (no container runs on kwok to resolve a name from): `dnsName` must be the
   * cluster DNS name of a Service `to` in the app's namespace, which `from` shares (so its search
   * path resolves the short name too), and the Service's EndpointSlices must list every ready pod
   * of `to` as a ready address.
   */
  async checkDiscovery(app: string, from: string, to: string, dnsName: string): Promise<void> {
    if (dnsName !== `${to}.${app}.svc.cluster.local`) throw new Error(`expected the DNS name ${to}.${app}.svc.cluster.local, got ${dnsName}`);
    await this.core.readNamespacedService({ name: to, namespace: app });
    if ((await this.pods({ app, service: from })).length === 0) throw new Error(`no pod of "${from}" runs in namespace ${app}`);
    const targets = (await this.pods({ app, service: to })).filter(KubernetesNativeProbe.ready);
    if (targets.length === 0) throw new Error(`no ready pod of "${to}"`);
    const slices = await this.discovery.listNamespacedEndpointSlice({ namespace: app, labelSelector: `kubernetes.io/service-name=${to}` });
    const readyAddresses = new Set(slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)));
    const missing = targets.filter((p) => !p.status?.podIP || !readyAddresses.has(p.status.podIP));
    if (missing.length)
      throw new Error(`EndpointSlices of ${to} lack ready addresses for ${missing.map((p) => `${p.metadata?.name} (${p.status?.podIP})`).join(', ')}`);
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

  /** API-level: the Secret the pod template projects to /run/secrets/<file>, decoded (no kubelet mounts it on kwok). */
  async secretFile(ref: ServiceRef, file: string): Promise<string> {
    const { template } = await this.template(ref);
    const mount = template.spec?.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/run/secrets');
    const volume = template.spec?.volumes?.find((v) => v.name === mount?.name);
    const source = volume?.projected?.sources?.find((s) => s.secret?.items?.some((i) => i.path === file))?.secret;
    if (!source?.name) throw new Error(`the pod template of ${ref.app}/${ref.service} mounts no secret file "${file}" under /run/secrets`);
    const key = source.items!.find((i) => i.path === file)!.key;
    const secret = await this.core.readNamespacedSecret({ name: source.name, namespace: ref.app });
    if (!secret.immutable) throw new Error(`Secret ${source.name} is not immutable`);
    return Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
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
