import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { type ComposeImport, SpecValidationError, composeClientFiles, composeEnv, formatIssue, importCompose } from '@berth/model';

interface CorpusFile {
  file: string;
  name?: string;
  env?: Record<string, string>;
  images?: Record<string, string>;
  profiles?: string[];
  refused?: string;
}

const root = path.join(import.meta.dirname, 'compose-corpus');
const corpus = (JSON.parse(readFileSync(path.join(root, 'corpus.json'), 'utf8')) as { files: CorpusFile[] }).files;

/** Imports a corpus file as `berth convert` does: files beside it read, its folder as the base of relative paths. */
export function importCorpusFile(entry: CorpusFile): ComposeImport {
  const file = path.join(root, entry.file);
  const dir = path.dirname(file);
  const text = readFileSync(file, 'utf8');
  const files = composeClientFiles(text, (rel) => (existsSync(path.join(dir, rel)) ? readFileSync(path.join(dir, rel), 'utf8') : undefined), entry.env);
  return importCompose(text, {
    name: entry.name,
    env: composeEnv(files, entry.env ?? {}),
    files,
    baseDir: `/srv/${path.basename(dir)}`,
    homeDir: '/home/user',
    images: entry.images,
    profiles: entry.profiles,
  });
}

/** Every leaf key of the file as the user wrote it (merge keys resolved, as Compose reads them). */
function leafKeys(value: unknown, prefix: string): string[] {
  if (Array.isArray(value)) return value.length ? value.flatMap((v, i) => leafKeys(v, `${prefix}[${i}]`)) : [prefix];
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    return entries.length ? entries.flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k)) : [prefix];
  }
  return [prefix];
}

const covers = (reported: string, key: string) => key === reported || key.startsWith(`${reported}.`) || key.startsWith(`${reported}[`);

describe('Compose corpus', () => {
  it('has 30 or more files', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
  });

  const rows: { file: string; outcome: string; reason: string; keys: number; unreported: string[] }[] = [];

  it.each(corpus.map((c) => [c.file, c] as const))('%s: imports or is refused as expected, every key reported', (_file, entry) => {
    let result: ComposeImport | undefined;
    let refusal: string | undefined;
    let crash: unknown;
    try {
      result = importCorpusFile(entry);
    } catch (e) {
      if (e instanceof SpecValidationError) refusal = e.issues.map(formatIssue).join('; ');
      else crash = e;
    }
    const doc = parseDocument(readFileSync(path.join(root, entry.file), 'utf8'), { merge: true });
    let keys: string[];
    try {
      keys = leafKeys(doc.toJS({ maxAliasCount: 1000 }), '');
    } catch {
      keys = []; // the alias bomb: its keys cannot be listed either
    }
    const unreported = result ? keys.filter((k) => !result.report.entries.some((e) => covers(e.key, k))) : [];
    rows.push({
      file: entry.file,
      outcome: crash ? 'CRASH' : refusal ? 'refused' : 'accepted',
      reason: crash
        ? String(crash)
        : (refusal ??
          (result
            ? `${result.report.summary.carried} carried, ${result.report.summary.approximated} approximated, ${result.report.summary.dropped} dropped`
            : '')),
      keys: keys.length,
      unreported,
    });
    expect(crash).toBeUndefined();
    if (entry.refused) expect(refusal).toContain(entry.refused);
    else expect(refusal).toBeUndefined();
    expect(unreported).toEqual([]);
  });

  it('prints the corpus table', () => {
    const count = (o: string) => rows.filter((r) => r.outcome === o).length;
    const lines = [
      '| file | outcome | keys | unreported | reason / report |',
      '|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.file} | ${r.outcome} | ${r.keys} | ${r.unreported.length} | ${r.reason.replace(/\|/g, '\\|')} |`),
      '',
      `files ${rows.length}; accepted ${count('accepted')}; refused ${count('refused')}; crashes ${count('CRASH')}; unreported keys ${rows.reduce((n, r) => n + r.unreported.length, 0)}`,
    ];
    console.log(lines.join('\n'));
    expect(rows.length).toBe(corpus.length);
    expect(count('CRASH')).toBe(0);
  });
});
