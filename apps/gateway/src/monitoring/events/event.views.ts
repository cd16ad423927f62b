import { z } from 'zod';
import type { ClusterEvent as ClusterEventRow } from '@berth/db';

export type StoredEvent = ClusterEventRow;

export const EventViewSchema = z.object({
  id: z.string().describe("position in Berth's history; give it back as `after` (or Last-Event-ID) to resume a stream"),
  cluster: z.string(),
  clusterId: z.uuid(),
  eventId: z.string().describe("the orchestrator's own id of the event"),
  time: z.string().describe('when the orchestrator emitted it (ISO 8601)'),
  kind: z.string().describe('service, task, container, node, network, volume (Swarm); Deployment, Pod, Job, ... (Kubernetes)'),
  name: z.string().describe("the object's name"),
  app: z.string().optional(),
  service: z.string().optional(),
  action: z.string().describe('create, update, start, die, ... (Swarm); the Kubernetes event reason'),
  message: z.string().optional(),
  attributes: z.record(z.string(), z.string()).describe("the orchestrator's raw attributes"),
  operationId: z.uuid().optional().describe('the Berth operation in progress on this app or service when it happened'),
});
export type EventView = z.output<typeof EventViewSchema>;

export function eventView(row: StoredEvent, clusterName: string): EventView {
  return {
    id: row.id.toString(),
    cluster: clusterName,
    clusterId: row.clusterId,
    eventId: row.eventId,
    time: row.time.toISOString(),
    kind: row.objectKind,
    name: row.objectName,
    ...(row.app ? { app: row.app } : {}),
    ...(row.service ? { service: row.service } : {}),
    action: row.action,
    ...(row.message ? { message: row.message } : {}),
    attributes: (row.attributes ?? {}) as Record<string, string>,
    ...(row.operationId ? { operationId: row.operationId } : {}),
  };
}

/** What a reader narrows history and live streams to. */
export interface EventFilter {
  clusterId?: string;
  app?: string;
  service?: string;
  kind?: string;
  action?: string;
  operationId?: string;
  /** What the reader's token may see. */
  visible?: (row: StoredEvent) => boolean;
}

export function matches(row: StoredEvent, f: EventFilter): boolean {
  return (
    (!f.clusterId || row.clusterId === f.clusterId) &&
    (!f.app || row.app === f.app) &&
    (!f.service || row.service === f.service) &&
    (!f.kind || row.objectKind === f.kind) &&
    (!f.action || row.action === f.action) &&
    (!f.operationId || row.operationId === f.operationId) &&
    (!f.visible || f.visible(row))
  );
}
