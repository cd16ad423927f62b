import type { ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { Request } from 'express';
import { parse } from 'yaml';
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
const field = (o: unknown, key: string) => (o && typeof o === 'object' ? str((o as Record<string, unknown>)[key]) : undefined);

/** The app a Compose file names at its top level, as the import reads it. */
function composeName(yaml: unknown): string | undefined {
  if (typeof yaml !== 'string') return undefined;
  try {
    return field(parse(yaml), 'name');
  } catch {
    return undefined;
  }
}

/**
 * Calls that name their app in the body, not the path: apply and plan (the spec's name, or the
 * Compose file's, unless ?name= says), a job or a volume (`app`). The handler reads the same body,
 * so a token narrowed to an app can deploy that app and nothing else.
 */
function appInBody(route: string, body: unknown, nameParam: unknown): string | undefined {
  if (/\/apps(\/plan)?$/.test(route)) {
    if (typeof body === 'string') return str(nameParam) ?? composeName(body);
    // a JSON Compose request: {"compose": "<yaml>", "name"?: ...}
    const compose = body && typeof body === 'object' ? (body as Record<string, unknown>).compose : undefined;
    if (typeof compose === 'string') return field(body, 'name') ?? str(nameParam) ?? composeName(compose);
    return field(body, 'name');
  }
  if (/\/(jobs|volumes)$/.test(route)) return field(body, 'app');
  return undefined;
}

export function callInfo(ctx: ExecutionContext): CallInfo {
  if (ctx.getType<string>() === 'graphql') {
    const gql = GqlExecutionContext.create(ctx);
    const info = gql.getInfo<{ parentType: { name: string }; fieldName: string }>();
    const args = gql.getArgs<Record<string, unknown>>();
    const context = gql.getContext<NonNullable<CallInfo['gqlContext']>>();
    const op = info.parentType.name.toLowerCase();
    const auth = str(context.req?.headers?.authorization) ?? str(context.connectionParams?.authorization) ?? str(context.connectionParams?.Authorization);
    const app =
      str(args.app) ??
      (info.fieldName === 'app' ? str(args.name) : undefined) ??
      (info.fieldName === 'applyApp' || info.fieldName === 'planApp'
        ? args.compose !== undefined && args.compose !== null
          ? (str(args.name) ?? composeName(args.compose))
          : field(args.spec, 'name')
        : undefined) ??
      (info.fieldName === 'runJob' ? field(args.spec, 'app') : undefined);
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
  const app = params.app ?? (mutating ? appInBody(route, req.body, (req.query as Record<string, unknown>).name) : undefined);
  return {
    transport: 'rest',
    action: `${req.method} ${route}`,
    mutating,
    kind: mutating ? 'write' : 'read',
    authorization: str(req.headers.authorization),
    cluster: params.cluster,
    app,
    target: [params.cluster, app, params.service, params.name, params.id].filter(Boolean).join('/') || undefined,
  };
}

export function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  return m?.[1];
}
