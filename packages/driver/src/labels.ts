/**
 * Labels and annotations Berth writes on every native object, so that state can be read back from
 * the orchestrator (after a restart, or for objects changed behind Berth's back).
 */
export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  app: 'berth.io/app',
  service: 'berth.io/service',
  job: 'berth.io/job',
  volume: 'berth.io/volume',
  volumeKind: 'berth.io/volume-kind',
  /** the ordinal of the member a per-member object (Kubernetes Service, Swarm service) stands for. */
  member: 'berth.io/member',
  secret: 'berth.io/secret',
  secretVersion: 'berth.io/secret-version',
  /** canonical JSON of the ServiceSpec last applied (annotation on Kubernetes, label on Swarm). */
  spec: 'berth.io/spec',
  specHash: 'berth.io/spec-hash',
  /** the spec to return to when a rollout with failureAction "rollback" fails. */
  previousSpec: 'berth.io/previous-spec',
  /** Swarm's own stack label, so `docker stack` tooling sees Berth apps as stacks. */
  stackNamespace: 'com.docker.stack.namespace',
} as const;

export const MANAGER = 'berth';
