import { z } from 'zod';
import { DnsLabel } from '@berth/model';
import { parse as parseYaml } from 'yaml';

const Labels = z.record(z.string().min(1).max(63), z.string().max(255)).default({});

/** tcp://HOST:PORT with a host name, IPv4 or [IPv6] address and a port 1-65535. */
const TcpHost = z
  .string()
  .regex(/^tcp:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'expected tcp://HOST:PORT')
  .refine((v) => {
    try {
      const port = Number(new URL(v.replace(/^tcp:/, 'http:')).port);
      return port >= 1 && port <= 65535;
    } catch {
      return false;
    }
  }, 'expected tcp://HOST:PORT with a valid host and a port 1-65535');

const Pem = z
  .string()
  .min(1)
  .refine((v) => v.includes('-----BEGIN '), 'expected a PEM block (-----BEGIN ...)');

export const RegisterSwarmCluster = z
  .strictObject({
    name: DnsLabel,
    kind: z.literal('swarm'),
    labels: Labels,
    /** Unix socket of a manager's engine, e.g. /var/run/docker.sock. */
    socketPath: z.string().startsWith('/', 'expected an absolute socket path').optional(),
    /** tcp://HOST:PORT of a manager's engine API. */
    host: TcpHost.optional(),
    tls: z.strictObject({ ca: Pem.optional(), cert: Pem.optional(), key: Pem.optional() }).optional(),
  })
  .superRefine((v, ctx) => {
    if (!!v.socketPath === !!v.host) ctx.addIssue({ code: 'custom', path: ['socketPath'], message: 'give exactly one of "socketPath" and "host"' });
    if (v.tls && !v.host) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'TLS applies to a tcp "host" only' });
    if (v.tls && !!v.tls.cert !== !!v.tls.key) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'give "cert" and "key" together' });
  });

export const RegisterKubernetesCluster = z.strictObject({
  name: DnsLabel,
  kind: z.literal('kubernetes'),
  labels: Labels,
  /** The kubeconfig file's content (YAML). */
  kubeconfig: z
    .string()
    .min(1, 'expected the kubeconfig content')
    .max(512 * 1024),
  /** Context to use; the kubeconfig's current-context by default. */
  context: z.string().min(1).optional(),
});

export const RegisterCluster = z.discriminatedUnion('kind', [RegisterSwarmCluster, RegisterKubernetesCluster], {
  error: 'expected "kind" to be "swarm" or "kubernetes"',
});
export type RegisterCluster = z.output<typeof RegisterCluster>;

export const UpdateCluster = z.strictObject({
  labels: z.record(z.string().min(1).max(63), z.string().max(255)).optional(),
  /** New connection details of the same kind; the cluster is probed before they are stored. */
  socketPath: z.string().startsWith('/').optional(),
  host: TcpHost.optional(),
  tls: z.strictObject({ ca: Pem.optional(), cert: Pem.optional(), key: Pem.optional() }).optional(),
  kubeconfig: z
    .string()
    .min(1)
    .max(512 * 1024)
    .optional(),
  context: z.string().min(1).optional(),
});
export type UpdateCluster = z.output<typeof UpdateCluster>;

interface KubeconfigShape {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name: string; cluster?: { server?: string } }[];
  users?: { name: string }[];
}

/**
 * Checks a kubeconfig's structure without contacting anything, and returns the API server URL of
 * the chosen context. Throws a message naming what is wrong.
 */
export function kubeconfigServer(kubeconfig: string, context?: string): { server: string; context: string } {
  let doc: KubeconfigShape;
  try {
    doc = parseYaml(kubeconfig) as KubeconfigShape;
  } catch (e) {
    throw new Error(`malformed kubeconfig: not YAML (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.contexts) || !Array.isArray(doc.clusters)) {
    throw new Error('malformed kubeconfig: expected "clusters" and "contexts" lists');
  }
  const name = context ?? doc['current-context'];
  if (!name) throw new Error('malformed kubeconfig: no "current-context"; give "context"');
  const ctx = doc.contexts.find((c) => c?.name === name);
  if (!ctx) throw new Error(`kubeconfig has no context "${name}" (has: ${doc.contexts.map((c) => c?.name).join(', ') || 'none'})`);
  const cluster = doc.clusters.find((c) => c?.name === ctx.context?.cluster);
  if (!cluster?.cluster?.server)
    throw new Error(`malformed kubeconfig: context "${name}" names cluster "${ctx.context?.cluster ?? ''}", which has no "server"`);
  if (ctx.context?.user && !(doc.users ?? []).some((u) => u?.name === ctx.context?.user)) {
    throw new Error(`malformed kubeconfig: context "${name}" names user "${ctx.context.user}", which is not in "users"`);
  }
  return { server: cluster.cluster.server, context: name };
}

const NodeView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['manager', 'worker', 'control-plane']),
  status: z.enum(['ready', 'down', 'unknown']),
  availability: z.enum(['active', 'pause', 'drain']).optional(),
  address: z.string().optional(),
  version: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  cpus: z.number().optional(),
  memoryBytes: z.number().optional(),
});

/** What the API answers for a cluster (documentation schema; credentials never appear). */
export const ClusterViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(['swarm', 'kubernetes']),
  endpoint: z.string().describe('socket, tcp address or API server URL; never credentials'),
  labels: z.record(z.string(), z.string()),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  health: z.object({
    status: z.enum(['healthy', 'degraded', 'unreachable']),
    message: z.string().optional(),
    latencyMs: z.number().optional(),
    checkedAt: z.iso.datetime().optional(),
  }),
  version: z.string().optional(),
  nodes: z.array(NodeView).optional().describe('live node list, on single-cluster reads'),
  nodeCount: z.number().int().optional(),
});
