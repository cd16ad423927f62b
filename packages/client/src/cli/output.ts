import { parseDuration } from '@berth/model';
import { stringify as toYaml } from 'yaml';

/** `-o`: kubectl's output formats. */
export const FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type Format = (typeof FORMATS)[number];

export function formatOf(value: string | undefined, json: boolean): Format {
  if (json) return 'json';
  const f = (value ?? 'table') as Format;
  if (!FORMATS.includes(f)) throw new UsageError(`unknown output format "${value}": use one of ${FORMATS.join(', ')}`);
  return f;
}

/** Ends the command with this exit code (what to say has been said). */
export class Outcome extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Bad flags or arguments: exit 2 with the message, as for a refused request. */
export class UsageError extends Error {}

/** A column of a table: its header, its cell, and whether only `-o wide` shows it. */
export interface Column<T> {
  header: string;
  cell: (row: T) => unknown;
  wide?: boolean;
}

const text = (v: unknown): string => (v === undefined || v === null ? '<none>' : Array.isArray(v) ? v.join(',') || '<none>' : String(v));

/** Columns padded to the widest cell, three spaces apart, headers in capitals (as kubectl and docker print). */
export function table<T>(rows: T[], columns: Column<T>[], wide = false): string {
  const shown = columns.filter((c) => wide || !c.wide);
  const cells = [shown.map((c) => c.header.toUpperCase()), ...rows.map((r) => shown.map((c) => text(c.cell(r))))];
  const widths = shown.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')).join('\n');
}

/** JSON and YAML print what the API answered; name prints one name per line. */
export function serialised(value: unknown, format: Format, name?: (v: never) => string): string | undefined {
  if (format === 'json') return JSON.stringify(value, null, 2);
  if (format === 'yaml') return toYaml(value).trimEnd();
  if (format === 'name' && name) return (Array.isArray(value) ? value : [value]).map((v) => name(v as never)).join('\n');
  return undefined;
}

/** A duration as --timeout takes it: "90s", "5m", "1h30m" (@berth/model's parser), or a bare number of seconds. */
export function durationMs(value: string): number {
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : parseDuration(trimmed);
  if (ms === undefined) throw new UsageError(`"${value}" is not a duration: write 90s, 5m or 1h30m`);
  return ms;
}

/** How long ago, as kubectl's AGE column: 45s, 12m, 3h, 5d. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '<none>';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
