import { Controller, Get, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parseOrThrow } from '@berth/model';
import { RequireAccess } from '../auth/auth.decorators.js';
import { pageOf } from '../common/caller.js';
import { ApiContract } from '../common/openapi.js';
import { AuditService } from './audit.service.js';

export const AuditViewSchema = z.object({
  id: z.string(),
  time: z.string(),
  actor: z.string(),
  action: z.string().describe('"POST /v1/clusters/:cluster/apps" or "mutation applyApp"'),
  target: z.string().optional(),
  clusterId: z.string().optional(),
  result: z.string().describe('succeeded, failed:<code> or denied:<code>'),
  correlationId: z.string().optional(),
  details: z.record(z.string(), z.unknown()),
});

const AuditQuery = z.strictObject({
  actor: z.string().optional(),
  action: z.string().optional(),
  result: z.string().optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().optional(),
});

@ApiTags('audit')
@Controller('v1/audit')
@RequireAccess('admin')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiQuery({ name: 'actor', required: false })
  @ApiQuery({ name: 'action', required: false })
  @ApiQuery({ name: 'result', required: false, description: 'prefix: succeeded, failed, denied' })
  @ApiQuery({ name: 'since', required: false })
  @ApiQuery({ name: 'until', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiContract({
    response: z.object({ items: z.array(AuditViewSchema), nextCursor: z.string().optional() }),
    description: 'Every mutating call and every refusal, newest first (admins only)',
    errors: [400],
  })
  list(@Query() query: Record<string, unknown>) {
    const { cursor: _c, limit: _l, ...filter } = parseOrThrow(AuditQuery, query, 'query');
    return this.audit.list(filter, pageOf(query));
  }
}
