import https from 'node:https';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

/**
 * A GET on the test cluster's API server (BERTH_KUBECONFIG), for tests that assert what the cluster
 * itself holds rather than what the gateway says. Plain HTTPS: the gateway's tests import no SDK.
 */
export function kubeGet(path: string): Promise<{ status: number; body: any }> {
  return kubeRequest('GET', path);
}

/** Any call on the test cluster's API server: a change made behind the gateway's back, for instance (a body is sent as a merge patch on PATCH). */
export function kubeRequest(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const config = parse(readFileSync(process.env.BERTH_KUBECONFIG!, 'utf8')) as Kubeconfig;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const server = new URL(config.clusters[0]!.cluster.server);
  const user = config.users[0]!.user;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: server.hostname,
        port: server.port,
        path,
        method,
        headers: body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
        ca: b64(config.clusters[0]!.cluster['certificate-authority-data']),
        cert: b64(user['client-certificate-data']),
        key: b64(user['client-key-data']),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
