import { Inject, Injectable } from '@nestjs/common';
import type { Prisma, PrismaClient } from '@berth/db';
import {
  type AppSpec,
  DEFAULT_WORKLOAD_POLICY,
  type JobSpec,
  type PolicyViolation,
  type VolumeDefinition,
  WorkloadPolicy,
  checkAppSpec,
  checkJobSpec,
  checkVolumeCreate,
  parseOrThrow,
} from '@berth/model';
import { AuditService } from '../audit/audit.service.js';
import { isClusterAdmin } from '../auth/access.js';
import { BerthError, ErrorCode } from '../common/errors.js';
import { requestContext } from '../common/request-context.js';
import { PRISMA } from '../database/database.module.js';
import { ClustersService } from '../clusters/clusters.service.js';

/** What a write path is about to give the cluster. */
export type PolicySubject =
  | { kind: 'app'; spec: AppSpec; /** only these services are written (default: all) */ services?: readonly string[] }
  | { kind: 'job'; spec: JobSpec }
  | { kind: 'volume'; app: string; definition: Pick<VolumeDefinition, 'driver' | 'driverOptions'> };

export interface WorkloadPolicyView {
  cluster: string;
  policy: WorkloadPolicy;
  /** No admin has set a policy: this is the default. */
  isDefault: boolean;
  updatedBy?: string;
  updatedAt?: string;
}

export interface PolicyReview {
  /** The write would go through for this caller. */
  allowed: boolean;
  /** It goes through only because the caller is an admin of the cluster (and that is audited). */
  bypass: boolean;
  violations: PolicyViolation[];
}

interface ClusterRef {
  id: string;
  name: string;
}

function violationsOf(subject: PolicySubject, policy: WorkloadPolicy): PolicyViolation[] {
  switch (subject.kind) {
    case 'app':
      return checkAppSpec(subject.spec, policy, subject.services);
    case 'job':
      return checkJobSpec(subject.spec, policy);
    case 'volume':
      return checkVolumeCreate(subject.app, subject.definition, policy);
  }
}

/**
 * A cluster's workload policy, and the one seam every write path calls before it writes anything:
 * `enforce` refuses (403, each field with its rule) what a token below cluster admin may not give
 * a workload, and lets a cluster admin through with an audit entry.
 */
@Injectable()
export class WorkloadPolicyService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly clusters: ClustersService,
    private readonly audit: AuditService,
  ) {}

  async get(clusterRef: string): Promise<WorkloadPolicyView> {
    const cluster = await this.clusters.find(clusterRef);
    const row = await this.prisma.workloadPolicy.findUnique({ where: { clusterId: cluster.id } });
    return this.view(cluster.name, row);
  }

  /** Replaces the cluster's policy (`{}` is the default again); the change and the policy before it are audited. */
  async set(clusterRef: string, raw: unknown): Promise<WorkloadPolicyView> {
    const policy = parseOrThrow(WorkloadPolicy, raw ?? {}, 'workload policy');
    const cluster = await this.clusters.find(clusterRef);
    const before = await this.policyOf(cluster.id);
    const updatedBy = requestContext.requester();
    const json = policy as unknown as Prisma.InputJsonValue;
    const row = await this.prisma.workloadPolicy.upsert({
      where: { clusterId: cluster.id },
      create: { clusterId: cluster.id, policy: json, updatedBy },
      update: { policy: json, updatedBy },
    });
    await this.audit.record({
      action: 'workload policy changed',
      target: cluster.name,
      clusterId: cluster.id,
      result: 'succeeded',
      details: { before, after: policy },
    });
    return this.view(cluster.name, row);
  }

  async policyOf(clusterId: string): Promise<WorkloadPolicy> {
    const row = await this.prisma.workloadPolicy.findUnique({ where: { clusterId } });
    // a stored policy was valid when written; parsing again fills defaults added since
    return row ? WorkloadPolicy.parse(row.policy) : DEFAULT_WORKLOAD_POLICY;
  }

  /** What the policy says about `subject` for the calling token, without acting on it (plans). */
  async review(cluster: ClusterRef, subject: PolicySubject): Promise<PolicyReview> {
    const violations = violationsOf(subject, await this.policyOf(cluster.id));
    const principal = requestContext.principal();
    const bypass = violations.length > 0 && !!principal && isClusterAdmin(principal, cluster.id);
    return { allowed: violations.length === 0 || bypass, bypass, violations };
  }

  /**
   * The seam: call before any write of a workload. `what` says what is being written, for the
   * message ("revision 3 of app shop").
   */
  async enforce(cluster: ClusterRef, subject: PolicySubject, what: string): Promise<void> {
    const review = await this.review(cluster, subject);
    if (!review.violations.length) return;
    if (review.bypass) {
      await this.audit.record({
        action: 'workload policy bypassed',
        target: `${cluster.name}/${subjectApp(subject)}`,
        clusterId: cluster.id,
        result: 'succeeded',
        details: { what, violations: review.violations },
      });
      return;
    }
    const list = review.violations.map((v) => `${v.path}: ${v.message} [${v.rule}]`).join('; ');
    throw new BerthError(
      ErrorCode.Forbidden,
      `the workload policy of cluster "${cluster.name}" refuses ${what}: ${list}`,
      review.violations.map((v) => ({ path: v.path, message: `${v.message} [${v.rule}]` })),
      { violations: review.violations },
    );
  }

  private view(cluster: string, row: { policy: Prisma.JsonValue; updatedBy: string; updatedAt: Date } | null): WorkloadPolicyView {
    if (!row) return { cluster, policy: DEFAULT_WORKLOAD_POLICY, isDefault: true };
    return { cluster, policy: WorkloadPolicy.parse(row.policy), isDefault: false, updatedBy: row.updatedBy, updatedAt: row.updatedAt.toISOString() };
  }
}

function subjectApp(subject: PolicySubject): string {
  return subject.kind === 'app' ? subject.spec.name : subject.kind === 'job' ? (subject.spec.app ?? '') : subject.app;
}
