import { Body, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AppSpec } from '@berth/model';
import { RequireAccess } from '../auth/auth.decorators.js';
import { ApiContract } from '../common/openapi.js';
import { ComposeService } from './compose.service.js';

export const ComposeImportSchema = z.object({
  spec: AppSpec,
  warnings: z.array(z.object({ path: z.string(), message: z.string() })).describe('every key that could not be carried, and what happened to it'),
});

@ApiTags('compose')
@Controller('v1/compose')
export class ComposeController {
  constructor(private readonly compose: ComposeService) {}

  @Post('convert')
  @RequireAccess('read')
  @HttpCode(200)
  @ApiConsumes('application/yaml', 'text/yaml', 'text/plain')
  @ApiBody({ description: 'A Compose file', schema: { type: 'string' } })
  @ApiQuery({ name: 'name', required: false, description: 'App name (default: the file\'s top-level "name")' })
  @ApiQuery({ name: 'strict', required: false, description: 'Refuse the file (400) when any key cannot be carried' })
  @ApiContract({ response: ComposeImportSchema, description: 'The AppSpec the file converts to, and the warnings; nothing is deployed', errors: [400] })
  convert(@Body() body: unknown, @Query('name') name?: string, @Query('strict') strict?: string) {
    return this.compose.convert(body, { name, strict: strict === 'true' || strict === '1' });
  }
}
