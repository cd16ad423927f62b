import type { GraphQLSchema } from 'graphql';

/** Code-first schemas give the root types no description; the IDE's docs pane opens on them. */
export function describeRootTypes(schema: GraphQLSchema): GraphQLSchema {
  const query = schema.getQueryType();
  const mutation = schema.getMutationType();
  const subscription = schema.getSubscriptionType();
  if (query) query.description = 'Reads: clusters, apps and their history, services with discovery data, operations, jobs, events, metrics and audit';
  if (mutation) mutation.description = 'Changes: each goes through the same checks, records and audit as its REST endpoint';
  if (subscription) subscription.description = 'Live streams over graphql-ws: operation progress, cluster events and service logs';
  return schema;
}
