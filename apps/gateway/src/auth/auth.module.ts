import { Global, Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AuditController } from '../audit/audit.controller.js';
import { AuditInterceptor } from '../audit/audit.interceptor.js';
import { AuditService } from '../audit/audit.service.js';
import { AuthGuard } from './auth.guard.js';
import { AuthResolver } from './auth.resolver.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { TokensController } from './tokens.controller.js';
import { TokensService } from './tokens.service.js';
import { ClusterRows } from '../clusters/cluster-rows.js';

/** Tokens, roles, the audit log and rate limits, applied to every route and resolver. */
@Global()
@Module({
  providers: [
    TokensService,
    ClusterRows,
    AuditService,
    AuthResolver,
    // order matters: authenticate first, so the rate limit counts per token
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  controllers: [TokensController, AuditController],
  exports: [TokensService, AuditService, ClusterRows],
})
export class AuthModule {}
