import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { openApiSchema } from './zod.js';

/** The shape of every error response. */
export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('one entry per invalid field'),
    correlationId: z.string().optional().describe('also in the x-request-id response header and the gateway log'),
    violations: z
      .array(z.object({ path: z.string(), rule: z.string(), message: z.string() }))
      .optional()
      .describe("403 from a cluster's workload policy: each offending field and the rule it breaks"),
  }),
});

const errorSchema = openApiSchema(ErrorResponseSchema, 'output');

/** Request body, success response and the error responses an endpoint can give, from zod schemas. */
export function ApiContract(options: { body?: z.ZodType; response?: z.ZodType; status?: number; description?: string; errors?: number[] }) {
  const decorators: (ClassDecorator | MethodDecorator | PropertyDecorator)[] = [];
  if (options.body) decorators.push(ApiBody({ schema: openApiSchema(options.body) }));
  decorators.push(
    ApiResponse({
      status: options.status ?? 200,
      description: options.description ?? 'OK',
      ...(options.response ? { schema: openApiSchema(options.response, 'output') } : {}),
    }),
  );
  // errors are JSON even where the success response is a stream
  const error = (status: number, description: string) => ApiResponse({ status, description, content: { 'application/json': { schema: errorSchema } } });
  const errors = options.errors ?? [400, 404];
  if (errors.includes(400)) decorators.push(error(400, 'invalid input; `details` names each field'));
  if (errors.includes(403)) decorators.push(error(403, "refused: no grant for this, or the cluster's workload policy forbids it (`violations`)"));
  if (errors.includes(404)) decorators.push(error(404, 'no such resource'));
  if (errors.includes(409)) decorators.push(error(409, 'conflicts with the current state or another operation in progress'));
  if (errors.includes(503)) decorators.push(error(503, 'the cluster is unreachable'));
  decorators.push(error(500, 'internal error, with a correlation id'));
  return applyDecorators(...(decorators as MethodDecorator[]));
}

/** The Idempotency-Key header of mutating calls. */
export const IdempotencyKeyHeader = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: "A retried call with the same key returns the first call's operation instead of acting twice",
});

/** `?wait=true` of mutating calls. */
export const WaitQuery = ApiQuery({
  name: 'wait',
  required: false,
  type: Boolean,
  description: 'true: answer when the operation has ended (at most 10 minutes)',
});
