import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a Go/Compose-style duration ("1m30s", "500ms", "2s") into milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(total);
}

/** Formats milliseconds the way Compose writes durations, for plans, diffs and compose export. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A duration given as milliseconds or as a string like "10s"; always milliseconds once parsed. */
export const Duration = z.union([
  z.number({ error: 'expected a duration: milliseconds or a string like "10s"' }).int().min(0),
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text.trim());
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "500ms", "10s" or "1m30s", got "${text}"` });
      return z.NEVER;
    }
    return ms;
  }),
]);
