import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiContract } from '../common/openapi.js';
import { requestContext } from '../common/request-context.js';
import { RequireAccess } from './auth.decorators.js';
import { CreateTokenRequest, TokensService } from './tokens.service.js';

export const TokenViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  grants: z.array(z.object({ role: z.enum(['viewer', 'operator', 'admin']), cluster: z.string().optional(), app: z.string().optional() })),
  createdBy: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  lastUsedAt: z.string().optional(),
  revokedAt: z.string().optional(),
});

@ApiTags('tokens')
@Controller('v1/tokens')
@RequireAccess('admin')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  @ApiContract({
    body: CreateTokenRequest,
    response: TokenViewSchema.extend({ token: z.string().describe('the secret: shown in this answer only') }),
    status: 201,
    description: 'Creates a token with roles on all or named clusters (optionally one app); the secret is shown once',
    errors: [400],
  })
  create(@Body() body: unknown) {
    return this.tokens.create(body, requestContext.principal()!);
  }

  @Get()
  @ApiContract({ response: z.object({ items: z.array(TokenViewSchema) }), description: 'Every token, without secrets', errors: [] })
  async list() {
    return { items: await this.tokens.list() };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiContract({
    response: TokenViewSchema,
    description: 'Revokes the token at once; the last admin token on every cluster cannot be revoked (409)',
    errors: [404, 409],
  })
  revoke(@Param('id') id: string) {
    return this.tokens.revoke(id);
  }
}
