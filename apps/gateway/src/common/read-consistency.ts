import { ApiQuery } from '@nestjs/swagger';
import { Field, Int, ObjectType } from '@nestjs/graphql';
import { z } from 'zod';
import type { Observation, ReadOptions } from '@berth/driver';
import { BerthError } from './errors.js';

/**
 * Reads of services, discovery, app status and volumes are answered from the cluster's watch-fed
 * read model unless the caller asks for `fresh`: then the orchestrator is asked. A read of an app
 * this gateway has just written goes to the orchestrator either way (read-your-writes).
 */
export function readOptions(fresh: unknown): ReadOptions {
  if (fresh === undefined || fresh === null || fresh === '' || fresh === false || fresh === 'false' || fresh === '0') return { consistency: 'cached' };
  if (fresh === true || fresh === 'true' || fresh === '1') return { consistency: 'fresh' };
  throw BerthError.invalid(`fresh must be true or false, not ${JSON.stringify(fresh)}`, [{ path: 'fresh', message: 'expected true or false' }]);
}

const FRESH_DESCRIPTION = "true: read the orchestrator instead of the cluster's watch-fed read model (slower; `observed` says which answered)";

/** `?fresh=true` of the reads served from the read model. */
export const FreshQuery = ApiQuery({
  name: 'fresh',
  required: false,
  type: Boolean,
  description: FRESH_DESCRIPTION,
});

export const ObservationSchema = z
  .object({
    source: z.enum(['cache', 'orchestrator']).describe("cache: the gateway's watch-fed read model; orchestrator: read from it for this answer"),
    observedAt: z.string().describe('When the data was known to be current (ISO 8601)'),
    ageMs: z.number().int().describe('How old the data was when the answer was made, in milliseconds'),
  })
  .describe('Where the data of an answer came from, and how old it is');

export type ObservationView = z.infer<typeof ObservationSchema>;

export function observationView(o: Observation | undefined, now = Date.now()): ObservationView {
  if (!o) return { source: 'orchestrator', observedAt: new Date(now).toISOString(), ageMs: 0 };
  return { ...o, ageMs: Math.max(0, now - Date.parse(o.observedAt)) };
}

/** The oldest of several observations: what a whole answer (an app's status) can claim. */
export function oldestObservation(all: (Observation | undefined)[], now = Date.now()): ObservationView {
  const views = all.map((o) => observationView(o, now));
  return views.reduce(
    (oldest, v) => (v.ageMs > oldest.ageMs || (v.source === 'cache' && oldest.ageMs === v.ageMs) ? v : oldest),
    views[0] ?? observationView(undefined, now),
  );
}

/** GraphQL's `fresh` argument of the same reads. */
export const FRESH_ARG = {
  type: () => Boolean,
  nullable: true,
  description: FRESH_DESCRIPTION,
} as const;

@ObjectType('Observation', { description: 'Where the data of an answer came from, and how old it is' })
export class ObservationType {
  @Field({ description: "Cache: the gateway's watch-fed read model; orchestrator: read from it for this answer" }) source!: string;
  @Field({ description: 'When the data was known to be current (ISO 8601)' }) observedAt!: string;
  @Field(() => Int, { description: 'How old the data was when the answer was made, in milliseconds' }) ageMs!: number;
}
