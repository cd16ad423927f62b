import { ArgsType, Field, Int } from '@nestjs/graphql';
import { BerthError } from '../common/errors.js';

export const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

/** Every list that can grow pages the same way: `first` items `after` the nextCursor of the page before. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: DEFAULT_PAGE, description: `At most this many items (1-${MAX_PAGE})` }) first!: number;
  @Field({ nullable: true, description: 'The nextCursor of the page before; absent: the first page' }) after?: string;
}

/** The page asked for, checked: first within 1-500, after absent rather than null. */
export function pageOf(args: PageArgs): { limit: number; cursor?: string } {
  const first = args.first ?? DEFAULT_PAGE;
  if (first < 1 || first > MAX_PAGE)
    throw BerthError.invalid(`first must be 1-${MAX_PAGE}, got ${first}`, [{ path: 'first', message: `expected 1-${MAX_PAGE}` }]);
  return { limit: first, cursor: args.after ?? undefined };
}
