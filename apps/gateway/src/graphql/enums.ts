import { ClusterViewSchema } from '../clusters/cluster.schemas.js';
import { OperationKindSchema, OperationStatusSchema } from '../changes/operation.views.js';
import { CollectionStatusSchema } from '../monitoring/metrics/metric.schemas.js';
import { graphqlEnum } from './zod-graphql.js';

/**
 * The GraphQL enums of the answers, from the zod enums REST documents: each value is the REST value
 * in GraphQL's upper case ("control-plane" is CONTROL_PLANE, "rolled_back" ROLLED_BACK).
 */
const node = ClusterViewSchema.shape.nodes.unwrap().element.shape;

export const OrchestratorKindGql = graphqlEnum('OrchestratorKind', ClusterViewSchema.shape.kind.options, 'The orchestrator of a cluster', {
  swarm: 'Docker Swarm',
  kubernetes: 'Kubernetes',
});
export const ClusterHealthStatusGql = graphqlEnum('ClusterHealthStatus', ClusterViewSchema.shape.health.shape.status.options, 'How a cluster answered', {
  healthy: 'it answered in time',
  degraded: 'it answered, slowly or with some nodes down',
  unreachable: 'it did not answer',
});
export const NodeRoleGql = graphqlEnum('NodeRole', node.role.options, 'What a node does in its cluster', {
  manager: 'a Swarm manager',
  worker: 'runs workloads',
  'control-plane': 'a Kubernetes control-plane node',
});
export const NodeStatusGql = graphqlEnum('NodeStatus', node.status.options, 'Whether a node is up', {
  ready: 'up and taking work',
  down: 'not reachable by the orchestrator',
  unknown: 'the orchestrator does not know',
});
export const NodeAvailabilityGql = graphqlEnum('NodeAvailability', node.availability.unwrap().options, 'Whether a node takes new work (Swarm)', {
  active: 'takes new replicas',
  pause: 'keeps its replicas, takes no new ones',
  drain: 'its replicas move elsewhere',
});
export const OperationStatusGql = graphqlEnum('OperationStatus', OperationStatusSchema.options, 'Where an operation is', {
  pending: 'recorded, not started',
  running: 'under way',
  succeeded: 'done as asked',
  failed: 'ended without doing what was asked (see errorCode)',
  rolled_back: 'the rollout failed and went back to what ran before',
  paused: 'the rollout failed and stopped where it was',
  cancelled: 'stopped before it ended',
});
export const OperationKindGql = graphqlEnum('OperationKind', OperationKindSchema.options, 'What an operation changes');
export const MetricsCollectionStateGql = graphqlEnum('MetricsCollectionState', CollectionStatusSchema.shape.state.options, 'Whether a cluster is sampled', {
  starting: 'the collector is starting',
  collecting: 'samples are being taken',
  unsupported: 'the cluster offers no metrics',
  failing: 'sampling fails (see message)',
  stopped: 'the collector stopped',
  'not-running': 'no gateway replica collects this cluster',
  disabled: 'monitoring is turned off',
});
