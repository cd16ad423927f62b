import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { z } from 'zod';
import type { LogLine } from '@berth/driver';
import { parseOrThrow } from '@berth/model';
import { ClustersService } from '../../clusters/clusters.service.js';

const Flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

export const LogQuerySchema = z.strictObject({
  follow: Flag.default(false).describe('keep streaming new lines until the client goes away'),
  tail: z.coerce.number().int().min(0).max(100_000).optional().describe('only the last N lines of each replica (default 100 unless `since` is given)'),
  since: z
    .string()
    .regex(/^(\d+(\.\d+)?(ms|s|m|h))+$|^\d{4}-\d\d-\d\dT/, 'expected a duration back from now ("10m") or an RFC 3339 time')
    .optional()
    .describe('only lines from this time on: "10m" (ago) or an RFC 3339 time'),
  format: z
    .enum(['ndjson', 'sse'])
    .optional()
    .describe('ndjson (one JSON line each, chunked) by default, sse for EventSource clients (also chosen by Accept: text/event-stream)'),
});
export type LogQuery = z.input<typeof LogQuerySchema>;

export const LogLineSchema = z.object({
  time: z.string().optional().describe('when the replica wrote the line (RFC 3339, nanoseconds)'),
  replica: z.string().describe('which replica wrote it: Swarm task slot (or node for global services), Kubernetes pod name'),
  stream: z.enum(['stdout', 'stderr']),
  line: z.string(),
});

const DEFAULT_TAIL = 100;

/** A service's logs from every replica, merged as they arrive: one service for REST and GraphQL. */
@Injectable()
export class LogsService implements OnModuleDestroy {
  /** Ends every open log stream on shutdown: a followed stream would keep the HTTP server from closing. */
  private readonly closing = new AbortController();

  constructor(private readonly clusters: ClustersService) {}

  /** First of the shutdown hooks: Apollo's drain (in GraphQLModule's) waits up to 10 s for open responses. */
  onModuleDestroy() {
    this.closing.abort();
  }

  /**
   * Resolves the service first, so a wrong name is a 404 before any stream starts, then returns
   * the lines (following until the signal aborts, when asked to).
   */
  async open(
    cluster: string,
    app: string,
    service: string,
    raw: unknown,
    callerSignal: AbortSignal,
  ): Promise<{ lines: AsyncIterable<LogLine>; format?: 'ndjson' | 'sse' }> {
    const q = parseOrThrow(LogQuerySchema, raw ?? {}, 'query');
    const signal = AbortSignal.any([callerSignal, this.closing.signal]);
    const { driver } = await this.clusters.driverFor(cluster);
    await driver.getService({ app, service });
    const tail = q.tail ?? (q.since ? undefined : DEFAULT_TAIL);
    const lines = driver.logs(
      { app, service },
      { follow: q.follow, ...(tail !== undefined ? { tail } : {}), ...(q.since ? { since: q.since } : {}), timestamps: true, signal },
    );
    return { lines, format: q.format };
  }
}
