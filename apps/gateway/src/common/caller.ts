import { createParamDecorator, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import { Args, ArgsType, Field } from '@nestjs/graphql';
import type { Request } from 'express';
import { BerthError } from './errors.js';
import { requestContext } from './request-context.js';

/** Who asks for a change, with which Idempotency-Key, and whether to wait for its end. */
export interface Caller {
  requester: string;
  idempotencyKey?: string;
  /** Block until the operation ends (bounded), for scripts. */
  wait?: boolean;
}

const KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The one reading of a caller, whatever the transport: REST gives the key in the Idempotency-Key
 * header and `?wait=true`, GraphQL as the `idempotencyKey` and `wait` arguments; both are checked
 * here, so the two cannot accept different keys.
 */
export function callerFrom(input: { idempotencyKey?: unknown; wait?: unknown }): Caller {
  const key = input.idempotencyKey ?? undefined;
  if (key !== undefined && (typeof key !== 'string' || !KEY.test(key))) {
    throw BerthError.invalid('Idempotency-Key must be 1-128 characters of letters, digits and ._:-', [
      { path: 'idempotencyKey', message: 'expected 1-128 characters of letters, digits and ._:-' },
    ]);
  }
  const wait = input.wait === true || input.wait === 'true' || input.wait === '1';
  return { requester: requestContext.requester(), idempotencyKey: key, wait };
}

/** REST: the caller of a mutating endpoint, from the Idempotency-Key header and `?wait`. */
export const CallerOf = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  const req = ctx.switchToHttp().getRequest<Request>();
  return callerFrom({ idempotencyKey: req.headers['idempotency-key'], wait: req.query.wait });
});

/** The arguments every GraphQL mutation that changes something takes. */
@ArgsType()
export class ChangeArgs {
  @Field(() => String, {
    nullable: true,
    description: 'A retry with the same key (1-128 letters, digits and ._:-) returns the operation the first call created instead of changing again',
  })
  idempotencyKey?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Answer when the operation has ended (bounded at 10 minutes) instead of at once' })
  wait?: boolean | null;
}

const toCaller: PipeTransform<Record<string, unknown>, Caller> = {
  transform: (args) => callerFrom({ idempotencyKey: args.idempotencyKey, wait: args.wait }),
};

/** GraphQL: declares `idempotencyKey` and `wait` on the mutation and reads the caller from them. */
export const GraphqlCaller = () => Args({ type: () => ChangeArgs }, toCaller);

/** Cursor pagination parameters, validated. */
export function pageOf(query: Record<string, unknown>, maxLimit = 200): { cursor?: string; limit: number } {
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw BerthError.invalid(`limit: expected an integer 1-${maxLimit}`);
  const cursor = query.cursor;
  if (cursor !== undefined && typeof cursor !== 'string') throw BerthError.invalid('cursor: expected a string');
  return { cursor: cursor as string | undefined, limit };
}
