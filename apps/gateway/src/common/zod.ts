import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { parseOrThrow } from '@berth/model';

/** Validates a request part with a zod schema; refusal names every bad path (unknown fields included). */
@Injectable()
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly what = 'request',
  ) {}

  transform(value: unknown, meta: ArgumentMetadata): z.output<S> {
    return parseOrThrow(this.schema, value ?? (meta.type === 'body' ? {} : value), this.what);
  }
}

/** OpenAPI 3 schema of what a zod schema accepts, for @ApiBody / @ApiResponse. */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}
