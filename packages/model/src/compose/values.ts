/** Compose value syntaxes: Go durations and byte sizes. */

const DURATION_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;

/** A Go duration ("1m30s", "500us", "10ns") in milliseconds, unrounded; a bare number is seconds. */
export function goDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return value * 1000;
  const text = String(value).trim();
  if (text === '0') return 0;
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) total += Number(amount) * DURATION_UNIT_MS[unit!]!;
  return total;
}

/** A Compose byte size ("512m", "1g", "100000", "2gb", "1.5GiB") in bytes. */
export function byteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(i?b?)?$/i.exec(String(value).trim());
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const power = unit === 'b' ? 0 : ['', 'k', 'm', 'g', 't'].indexOf(unit);
  return Math.round(Number(m[1]) * 1024 ** power);
}
