/**
 * A Compose file read as `docker compose` and `docker stack deploy` read it on the client: the
 * `.env` beside it and the shell's variables for interpolation, its env_file and extends files, its
 * secrets' files and variables, relative paths against its folder and `~` against the home folder.
 * The gateway reads no file of the client; it gets all of this in one JSON Compose request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { composeClientFiles, composeEnv, toDnsLabel } from '@berth/model';

export interface ComposeRequest {
  compose: string;
  name?: string;
  env: Record<string, string>;
  files: Record<string, string>;
  baseDir: string;
  homeDir: string;
  profiles?: string[];
  images?: Record<string, string>;
  secretValues?: Record<string, string>;
}

export interface ComposeFlags {
  name?: string;
  profile?: string[];
  image?: string[];
}

/** The variables a text interpolates ($NAME, ${NAME...}): only these leave the client. */
function referencedVariables(texts: string[]): Set<string> {
  const names = new Set<string>(['COMPOSE_PROFILES']);
  for (const text of texts) for (const m of text.replace(/\$\$/g, '').matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return names;
}

/**
 * The app name of a Compose file, as `docker compose` names its project: `--name`, else the file's
 * top-level `name` (left to the gateway), else the name of the folder the file is in (the current
 * folder for stdin).
 */
export function composeAppName(text: string, file: string, explicit: string | undefined, cwd = process.cwd()): string | undefined {
  if (explicit) return explicit;
  const doc = parseYaml(text, { maxAliasCount: -1 }) as { name?: unknown } | null;
  if (typeof doc?.name === 'string' && doc.name) return undefined;
  const folder = file === '-' ? cwd : path.dirname(path.resolve(cwd, file));
  return toDnsLabel(path.basename(folder)) || undefined;
}

/** The values of the file's secrets: `file` relative to the Compose file, `environment` from this process. */
function secretValues(text: string, dir: string, env: Record<string, string | undefined>): Record<string, string> {
  let doc: { secrets?: Record<string, { file?: unknown; environment?: unknown } | null> } | null;
  try {
    doc = parseYaml(text, { maxAliasCount: -1 }) as typeof doc;
  } catch {
    return {}; // the gateway names the file's YAML errors
  }
  const values: Record<string, string> = {};
  for (const [name, def] of Object.entries(doc?.secrets ?? {})) {
    if (typeof def?.file === 'string') values[name] = readFileSync(path.resolve(dir, def.file), 'utf8');
    else if (typeof def?.environment === 'string') {
      const value = env[def.environment];
      if (value === undefined) throw new Error(`secret "${name}": environment variable ${def.environment} is not set`);
      values[name] = value;
    }
  }
  return values;
}

export function composeRequest(
  text: string,
  file: string,
  flags: ComposeFlags,
  shell: Record<string, string | undefined>,
  cwd = process.cwd(),
): ComposeRequest {
  const dir = file === '-' ? cwd : path.dirname(path.resolve(cwd, file));
  const files = composeClientFiles(text, (rel) => (existsSync(path.join(dir, rel)) ? readFileSync(path.join(dir, rel), 'utf8') : undefined), shell);
  const all = composeEnv(files, shell);
  const wanted = referencedVariables([
    text,
    ...Object.entries(files)
      .filter(([k]) => /\.ya?ml$/.test(k))
      .map(([, v]) => v),
  ]);
  const env: Record<string, string> = {};
  for (const name of wanted) if (all[name] !== undefined) env[name] = all[name]!;
  const images: Record<string, string> = {};
  for (const pair of flags.image ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--image: expected SERVICE=IMAGE, got "${pair}"`);
    images[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const secrets = secretValues(text, dir, shell);
  return {
    compose: text,
    name: composeAppName(text, file, flags.name, cwd),
    env,
    files,
    baseDir: dir,
    homeDir: homedir(),
    ...(flags.profile?.length ? { profiles: flags.profile } : {}),
    ...(Object.keys(images).length ? { images } : {}),
    ...(Object.keys(secrets).length ? { secretValues: secrets } : {}),
  };
}

interface ReportEntry {
  key: string;
  status: string;
  note?: string;
  orchestrators?: { swarm?: { status: string; note: string }; kubernetes?: { status: string; note: string } };
}

/** The conversion report as a table: each key, what became of it, and where Swarm or Kubernetes differ. */
export function reportTable(report: { entries: ReportEntry[]; summary: Record<string, number>; profiles: { skippedServices: string[] } }): string {
  const rows = report.entries.map((e) => [
    e.key,
    e.status,
    e.orchestrators?.swarm?.status ?? e.status,
    e.orchestrators?.kubernetes?.status ?? e.status,
    [e.note, e.orchestrators?.swarm && `Swarm: ${e.orchestrators.swarm.note}`, e.orchestrators?.kubernetes && `Kubernetes: ${e.orchestrators.kubernetes.note}`]
      .filter(Boolean)
      .join('; '),
  ]);
  const head = ['KEY', 'STATUS', 'SWARM', 'KUBERNETES', 'HOW / WHY'];
  const widths = head.slice(0, 4).map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  const { carried = 0, approximated = 0, dropped = 0 } = report.summary;
  return [
    line(head),
    ...rows.map(line),
    '',
    `${carried} carried, ${approximated} approximated, ${dropped} dropped${report.profiles.skippedServices.length ? `; not deployed (profiles): ${report.profiles.skippedServices.join(', ')}` : ''}`,
  ].join('\n');
}
