import { Body, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RequireAccess } from '../auth/auth.decorators.js';
import { ApiContract } from '../common/openapi.js';
import { openApiSchema } from '../common/zod.js';
import { ComposeConvertRequest, ComposeImportSchema } from './compose.schemas.js';
import { ComposeQueries, composeQueryOptions } from './compose.query.js';
import { ComposeService } from './compose.service.js';

export { ComposeImportSchema };

@ApiTags('compose')
@Controller('v1/compose')
export class ComposeController {
  constructor(private readonly compose: ComposeService) {}

  @Post('convert')
  @RequireAccess('read')
  @HttpCode(200)
  @ApiConsumes('application/yaml', 'text/yaml', 'text/plain', 'application/json')
  @ApiBody({
    description: 'A Compose file (YAML, options as query parameters), or a JSON ComposeConvertRequest with the file, its variables and its other files',
    schema: { oneOf: [{ type: 'string' }, openApiSchema(ComposeConvertRequest)] },
  })
  @ApiQuery({ name: 'name', required: false, description: 'App name (default: the file\'s top-level "name")' })
  @ApiQuery({ name: 'strict', required: false, description: 'Refuse the file (400) when any key is not carried as written' })
  @ComposeQueries
  @ApiContract({
    response: ComposeImportSchema,
    description:
      'The AppSpec the file converts to and the conversion report (every key carried, approximated or dropped, per orchestrator); nothing is deployed',
    errors: [400],
  })
  convert(@Body() body: unknown, @Query() query: Record<string, unknown>) {
    if (typeof body === 'object' && body !== null) return this.compose.convertRequest(body);
    const name = typeof query.name === 'string' ? query.name : undefined;
    return this.compose.convert(body, { name, strict: query.strict === 'true' || query.strict === '1', ...composeQueryOptions(query) });
  }
}
