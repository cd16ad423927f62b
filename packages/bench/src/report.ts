/** What a section found: a table, notes, and where the project stands against each goal. */
export interface Goal {
  goal: string;
  measured: string;
  /** undefined: not measured in this run (the reason is in `measured`). */
  met: boolean | undefined;
}

export interface SectionResult {
  title: string;
  headers: string[];
  rows: string[][];
  notes: string[];
  goals: Goal[];
  /** Raw figures, for the JSON output. */
  data?: unknown;
}

export function section(title: string, headers: string[]): SectionResult {
  return { title, headers, rows: [], notes: [], goals: [] };
}

export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // figures align right, words left
  const numeric = headers.map((_, i) => i > 0 && rows.length > 0 && rows.every((r) => !r[i] || /^[-+]?[\d.]/.test(r[i]!)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderSection(s: SectionResult): string {
  const out = [`\n== ${s.title} ==`];
  if (s.rows.length) out.push(renderTable(s.headers, s.rows));
  for (const n of s.notes) out.push(`  * ${n}`);
  return out.join('\n');
}

export function renderGoals(goals: Goal[]): string {
  const rows = goals.map((g) => [g.goal, g.measured, g.met === undefined ? 'NOT MEASURED' : g.met ? 'met' : 'MISSED']);
  return `\n== Goals ==\n${renderTable(['goal', 'measured (median, same run)', 'status'], rows)}`;
}

/** Progress lines go to stderr so that stdout holds only the report. */
export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
