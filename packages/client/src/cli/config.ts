import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { UsageError } from './output.js';

/** A named gateway and the token to use there, as kubeconfig contexts are. */
export interface Context {
  name: string;
  server: string;
  token?: string;
}

export interface CliConfig {
  'current-context'?: string;
  contexts: Context[];
}

/** $BERTH_CONFIG, else $XDG_CONFIG_HOME/berth/config.yaml, else ~/.config/berth/config.yaml. */
export function configPath(env: Record<string, string | undefined>): string {
  if (env.BERTH_CONFIG) return env.BERTH_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'berth', 'config.yaml');
}

export async function loadConfig(file: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: [] };
    throw e;
  }
  const parsed = (parseYaml(text) ?? {}) as Partial<CliConfig>;
  if (parsed.contexts !== undefined && !Array.isArray(parsed.contexts)) throw new UsageError(`${file}: "contexts" must be a list`);
  return { ...parsed, contexts: parsed.contexts ?? [] };
}

/** Written readable by its owner only: it holds tokens. */
export async function saveConfig(file: string, config: CliConfig): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, toYaml(config), { mode: 0o600 });
  await chmod(file, 0o600);
}

/** The gateway and token to use: flags, then BERTH_URL/BERTH_TOKEN, then the chosen or current context. */
export function resolveTarget(
  config: CliConfig,
  flags: { server?: string; token?: string; context?: string },
  env: Record<string, string | undefined>,
): { server: string; token?: string; context?: string } {
  const name = flags.context ?? config['current-context'];
  const context = name ? config.contexts.find((c) => c.name === name) : undefined;
  if (flags.context && !context) throw new UsageError(`no context "${flags.context}" in the config: see berth config get-contexts`);
  return {
    server: flags.server ?? env.BERTH_URL ?? context?.server ?? 'http://127.0.0.1:8080',
    token: flags.token ?? env.BERTH_TOKEN ?? context?.token,
    context: context?.name,
  };
}
