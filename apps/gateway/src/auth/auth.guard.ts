import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CONFIG, type Config } from '../config/config.js';
import { asBerthError, BerthError, ErrorCode } from '../common/errors.js';
import { requestContext } from '../common/request-context.js';
import { ClusterRows } from '../clusters/cluster-rows.js';
import { AuditService } from '../audit/audit.service.js';
import { type Access, allows, isGlobalAdmin, seesCluster } from './access.js';
import { ACCESS_KEY, PUBLIC_KEY } from './auth.decorators.js';
import { bearer, callInfo } from './call-context.js';
import { TokensService } from './tokens.service.js';

/**
 * Every REST and GraphQL call needs a valid token and a grant for what it touches. A cluster the
 * token has no grant on does not exist for it (404); one it sees with too small a role is 403.
 * Every refusal is audited.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokensService,
    private readonly audit: AuditService,
    private readonly clusterRows: ClusterRows,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const pub = this.reflector.getAllAndOverride<string | undefined>(PUBLIC_KEY, targets);
    if (pub === 'always' || (pub === 'health' && this.config.auth.publicHealth) || (pub === 'metrics' && this.config.auth.publicMetrics)) return true;
    const call = callInfo(ctx);
    const access: Access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, targets) ?? (call.kind === 'write' ? 'operate' : 'read');
    let clusterId: string | undefined;
    try {
      const principal = await this.tokens.verify(bearer(call.authorization));
      const store = requestContext.get();
      if (store) {
        store.principal = principal;
        store.requester = `token:${principal.name}`;
      }
      if (call.gqlContext) call.gqlContext.principal = principal;
      if (call.cluster) {
        const cluster = await this.clusterRows.find(call.cluster);
        // an unknown cluster is the handler's 404; an invisible one must look the same
        if (!cluster) return true;
        clusterId = cluster.id;
        // the handler finds the row here instead of reading it again (ClustersService.find)
        if (store) (store.clusters ??= new Map()).set(call.cluster, cluster);
        if (!seesCluster(principal, cluster.id)) throw BerthError.notFound(`cluster "${call.cluster}"`);
        if (!allows(principal, access, cluster.id, call.app)) {
          throw new BerthError(
            ErrorCode.Forbidden,
            `token "${principal.name}" may not ${access} ${call.app ? `app "${call.app}" on ` : ''}cluster "${call.cluster}"`,
          );
        }
      } else if (access === 'admin' && !isGlobalAdmin(principal)) {
        throw new BerthError(ErrorCode.Forbidden, `token "${principal.name}" is not an admin on every cluster`);
      } else if (access === 'operate' && !principal.grants.some((g) => g.role !== 'viewer')) {
        throw new BerthError(ErrorCode.Forbidden, `token "${principal.name}" has no operator grant`);
      }
      return true;
    } catch (e) {
      const known = asBerthError(e);
      await this.audit.record({
        action: call.action,
        target: call.target,
        clusterId,
        result: `denied:${known?.code ?? ErrorCode.Internal}`,
        details: { reason: known?.message },
      });
      throw e;
    }
  }
}
