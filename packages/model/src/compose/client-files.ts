import { interpolateString, parseEnvFile } from './interpolate.js';
import { fileKey, isObj, loadYaml } from './load.js';

/**
 * The other files a Compose file needs from the client's disk, as docker compose reads them: the
 * `.env` beside it, every `env_file` and every `extends.file` (followed into the extended files).
 * `read` gets a path relative to the Compose file's folder and returns the content, or undefined
 * when there is no such file. The result is the `files` option of importCompose.
 */
export function composeClientFiles(
  yamlText: string,
  read: (relPath: string) => string | undefined,
  env: Record<string, string | undefined> = {},
): Record<string, string> {
  const files: Record<string, string> = {};
  const take = (rel: string) => {
    const key = fileKey(rel);
    if (key in files) return undefined;
    const text = read(key);
    if (text !== undefined) files[key] = text;
    return text;
  };
  const dotenv = take('.env');
  const vars = { ...(dotenv === undefined ? {} : parseEnvFile(dotenv)), ...env };
  const quiet = { unset: () => undefined, error: () => undefined };
  const visit = (text: string) => {
    let doc: unknown;
    try {
      doc = loadYaml(text, 'Compose file');
    } catch {
      return; // the import itself reports the file's errors
    }
    const services = isObj(doc) && isObj(doc.services) ? doc.services : {};
    for (const svc of Object.values(services)) {
      if (!isObj(svc)) continue;
      const envFiles = svc.env_file === undefined ? [] : Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
      for (const entry of envFiles) {
        const rel = typeof entry === 'string' ? entry : isObj(entry) && typeof entry.path === 'string' ? entry.path : undefined;
        if (rel) take(interpolateString(rel, vars, quiet));
      }
      if (isObj(svc.extends) && typeof svc.extends.file === 'string') {
        const other = take(interpolateString(svc.extends.file, vars, quiet));
        if (other !== undefined) visit(other);
      }
    }
  };
  visit(yamlText);
  return files;
}

/** The interpolation environment docker compose uses: the `.env` file's variables, overridden by the shell's. */
export function composeEnv(files: Record<string, string>, shell: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...(files['.env'] === undefined ? {} : parseEnvFile(files['.env'])), ...shell };
}
