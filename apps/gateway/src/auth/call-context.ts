import type { ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { Request } from 'express';
import type { Principal } from '../common/request-context.js';

/** What the guard and the audit interceptor need of a call, the same for REST and GraphQL. */
export interface CallInfo {
  transport: 'rest' | 'graphql';
  /** "POST /v1/clusters/:cluster/apps" or "mutation applyApp" */
  action: string;
  mutating: boolean;
  kind: 'read' | 'write';
  authorization?: string;
  cluster?: string;
  app?: string;
  target?: string;
  /** The GraphQL context object, where the principal is kept for subscriptions. */
  gqlContext?: { principal?: Principal; req?: Request; connectionParams?: Record<string, unknown> };
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

export function callInfo(ctx: ExecutionContext): CallInfo {
  if (ctx.getType<string>() === 'graphql') {
    const gql = GqlExecutionContext.create(ctx);
    const info = gql.getInfo<{ parentType: { name: string }; fieldName: string }>();
    const args = gql.getArgs<Record<string, unknown>>();
    const context = gql.getContext<NonNullable<CallInfo['gqlContext']>>();
    const op = info.parentType.name.toLowerCase();
    const auth = str(context.req?.headers?.authorization) ?? str(context.connectionParams?.authorization) ?? str(context.connectionParams?.Authorization);
    const app = str(args.app) ?? (info.fieldName === 'app' ? str(args.name) : undefined);
    return {
      transport: 'graphql',
      action: `${op} ${info.fieldName}`,
      mutating: op === 'mutation',
      kind: op === 'mutation' ? 'write' : 'read',
      authorization: auth,
      cluster: str(args.cluster) ?? (info.fieldName === 'cluster' || info.fieldName.endsWith('Cluster') ? str(args.name) : undefined),
      app,
      target: [str(args.cluster), app, str(args.service), str(args.id)].filter(Boolean).join('/') || undefined,
      gqlContext: context,
    };
  }
  const req = ctx.switchToHttp().getRequest<Request>();
  const route = (req.route as { path?: string } | undefined)?.path ?? req.path;
  const params = req.params as Record<string, string | undefined>;
  const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
  return {
    transport: 'rest',
    action: `${req.method} ${route}`,
    mutating,
    kind: mutating ? 'write' : 'read',
    authorization: str(req.headers.authorization),
    cluster: params.cluster,
    app: params.app,
    target: [params.cluster, params.app, params.service, params.name, params.id].filter(Boolean).join('/') || undefined,
  };
}

export function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  return m?.[1];
}
