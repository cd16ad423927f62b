import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { RequireAccess } from '../auth/auth.decorators.js';
import { requestContext } from '../common/request-context.js';
import { ClusterType, type LabelInput, RegisterClusterInput, UpdateClusterInput } from './cluster.types.js';
import { type ClusterView, ClustersService, HEALTH_TTL_MS } from './clusters.service.js';

const toPairs = (labels: Record<string, string> = {}) => Object.entries(labels).map(([key, value]) => ({ key, value }));
const fromPairs = (labels?: LabelInput[] | null) => (labels ? Object.fromEntries(labels.map((l) => [l.key, l.value])) : undefined);

/** GraphQL leaves absent optional arguments as null; the shared validation expects them absent. */
function withoutNulls<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

function toGql(view: ClusterView): ClusterType {
  return {
    ...view,
    kind: view.kind as ClusterType['kind'],
    labels: toPairs(view.labels),
    nodes: view.nodes?.map((n) => ({ ...n, labels: toPairs(n.labels) })),
  };
}

@Resolver(() => ClusterType)
export class ClustersResolver {
  constructor(private readonly service: ClustersService) {}

  @Query(() => [ClusterType], {
    description: `Every registered cluster, with health, version and node count read at most ${HEALTH_TTL_MS / 1000} s ago (health.checkedAt)`,
  })
  async clusters() {
    return (await this.service.list()).map(toGql);
  }

  @Query(() => ClusterType, { description: 'One cluster (by name or id) with health, version and nodes read live from it' })
  async cluster(@Args('name', { description: 'The cluster, by name or id' }) name: string) {
    return toGql(await this.service.get(name));
  }

  @Mutation(() => ClusterType, { description: 'Registers a cluster after checking Berth can reach it; audited' })
  @RequireAccess('admin')
  async registerCluster(@Args('input', { description: 'The cluster to register' }) input: RegisterClusterInput) {
    const { labels, tls, ...rest } = input;
    return toGql(
      await this.service.register({ ...withoutNulls(rest), labels: fromPairs(labels), ...(tls ? { tls: withoutNulls(tls) } : {}) }, requestContext.requester()),
    );
  }

  @Mutation(() => ClusterType, { description: "Changes a cluster's labels or connection; audited" })
  @RequireAccess('admin')
  async updateCluster(
    @Args('name', { description: 'The cluster, by name or id' }) name: string,
    @Args('input', { description: 'What changes' }) input: UpdateClusterInput,
  ) {
    const { labels, tls, ...rest } = input;
    return toGql(await this.service.update(name, { ...withoutNulls(rest), labels: fromPairs(labels), ...(tls ? { tls: withoutNulls(tls) } : {}) }));
  }

  @Mutation(() => Boolean, { description: 'Forgets a cluster (its workloads keep running); audited' })
  @RequireAccess('admin')
  async removeCluster(@Args('name', { description: 'The cluster, by name or id' }) name: string) {
    await this.service.remove(name);
    return true;
  }
}
