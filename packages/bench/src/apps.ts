import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayProcess } from './gateway.process.js';
import { log } from './report.js';

export interface OperationView {
  id: string;
  status: string;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface ChangeResult {
  changed: boolean;
  message: string;
  operation?: OperationView;
}

const OPEN = new Set(['pending', 'running']);

/**
 * Waits for an operation by polling its record: used for set-up and clean-up steps, which can take
 * longer than an HTTP client waits for headers (the timed paths use `?wait=true`, the API's own answer).
 */
export async function settle(gateway: GatewayProcess, result: ChangeResult, timeoutMs = 15 * 60_000): Promise<OperationView | undefined> {
  let op = result.operation;
  const deadline = Date.now() + timeoutMs;
  while (op && OPEN.has(op.status)) {
    if (Date.now() > deadline) throw new Error(`operation ${op.id} still ${op.status} after ${timeoutMs / 1000} s`);
    await sleep(250);
    op = await gateway.request<OperationView>('GET', `/v1/operations/${op.id}`);
  }
  if (op && op.status !== 'succeeded') throw new Error(`operation ${op.id} ended ${op.status}: ${op.error ?? ''}`);
  return op;
}

export async function applyApp(gateway: GatewayProcess, cluster: string, spec: unknown): Promise<OperationView | undefined> {
  return settle(gateway, await gateway.request<ChangeResult>('POST', `/v1/clusters/${cluster}/apps`, spec));
}

/**
 * Removes an app through the API. A failure is logged, not thrown: clean-up must not hide the error
 * that led to it, and the callers remove what is left directly on the orchestrator afterwards.
 */
export async function deleteApp(gateway: GatewayProcess, cluster: string, app: string): Promise<void> {
  try {
    const result = await gateway.request<ChangeResult>('DELETE', `/v1/clusters/${cluster}/apps/${app}`, undefined, [200, 202, 404]);
    await settle(gateway, result);
  } catch (e) {
    log(`removing ${app} through the gateway failed (${(e as Error).message}); removing what is left directly`);
  }
}

/**
 * Grows an app to `count` empty services, at most `step` new ones per apply: one apply is one driver
 * call, bounded by the gateway's BERTH_DRIVER_TIMEOUT_MS (30 s), and on Kubernetes 900 new services in
 * one apply did not fit in it on this machine (the operation failed with TIMEOUT while the driver kept
 * writing).
 */
export async function growApp(gateway: GatewayProcess, cluster: string, app: string, from: number, count: number, step = 200): Promise<void> {
  for (let n = Math.min(from + step, count); ; n = Math.min(n + step, count)) {
    await applyApp(gateway, cluster, emptyServices(app, n));
    if (n >= count) return;
  }
}

/** `count` services named svc0000, svc0001, ... with no replicas: objects on the orchestrator, no containers. */
export function emptyServices(app: string, count: number, image = 'berth-test/http:1') {
  const services: Record<string, { image: string; replicas: number }> = {};
  for (let i = 0; i < count; i++) services[`svc${String(i).padStart(4, '0')}`] = { image, replicas: 0 };
  return { name: app, services };
}
