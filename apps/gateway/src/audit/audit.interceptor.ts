import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { callInfo } from '../auth/call-context.js';
import { asBerthError, ErrorCode } from '../common/errors.js';
import { AuditService } from './audit.service.js';

/** Records every allowed mutating call with how it ended (refusals are recorded by the guard). */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditService) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const call = callInfo(ctx);
    if (!call.mutating) return next.handle();
    const record = (result: string, details: Record<string, unknown> = {}) =>
      void this.audit.record({ action: call.action, target: call.target, result, details });
    return next.handle().pipe(
      tap({
        next: (value) => {
          const op = (value as { operation?: { id?: string; status?: string } } | undefined)?.operation;
          record('succeeded', op?.id ? { operationId: op.id, status: op.status } : {});
        },
        error: (e: unknown) => {
          const known = asBerthError(e);
          // a refusal by the workload policy is a denial like the guard's, with each field and rule
          const violations = known?.extra.violations;
          if (known?.code === ErrorCode.Forbidden && violations) record(`denied:${known.code}`, { reason: known.message, violations });
          else record(`failed:${known?.code ?? ErrorCode.Internal}`, { reason: known?.message });
        },
      }),
    );
  }
}
