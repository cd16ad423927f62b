import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { type GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { type Observable, tap } from 'rxjs';
import { GatewayMetrics } from './gateway-metrics.js';

const ROOTS: Record<string, string> = { Query: 'query', Mutation: 'mutation' };

/**
 * Times each top-level GraphQL query and mutation field (the GraphQL counterpart of a route).
 * Nested fields are part of their parent's time; subscriptions are streams, not requests.
 */
@Injectable()
export class GraphqlMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: GatewayMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType<GqlContextType>() !== 'graphql') return next.handle();
    const info = GqlExecutionContext.create(context).getInfo<GraphQLResolveInfo>();
    const type = ROOTS[info.parentType.name];
    if (!type) return next.handle();
    const end = this.metrics.graphqlDuration.startTimer({ type, field: info.fieldName });
    let ended = false;
    const finish = (result: string) => {
      if (ended) return;
      ended = true;
      end({ result });
    };
    return next.handle().pipe(tap({ error: () => finish('error'), complete: () => finish('ok'), unsubscribe: () => finish('ok') }));
  }
}
