import { parseDocument } from 'yaml';
import { SpecValidationError } from '../validation.js';
import { interpolateString } from './interpolate.js';
import type { Path } from './report.js';
import { formatPath } from '../validation.js';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The bound against alias bombs ("billion laughs"): the yaml library counts each alias resolved,
 * weighted by the aliases inside what it points at. Hundreds of `<<: *defaults` stay far below it;
 * a file that expands exponentially goes over it long before it costs memory.
 */
export const MAX_ALIAS_EXPANSION = 50_000;

/** Parses YAML with merge keys and anchors as Compose does; a bad or exploding file is a SpecValidationError. */
export function loadYaml(text: string, what: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, merge: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new SpecValidationError(
      what,
      doc.errors.map((e) => ({ path: '', message: `YAML ${e.message.split('\n')[0]} (line ${e.linePos?.[0].line ?? '?'})` })),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/alias/i.test(message)) {
      throw new SpecValidationError(what, [
        {
          path: '',
          message: `the file's anchors and aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes (a bound against alias bombs); expand the nested aliases by hand`,
        },
      ]);
    }
    throw new SpecValidationError(what, [{ path: '', message: `YAML ${message.split('\n')[0]}` }]);
  }
}

/** Interpolates every string value (never keys) of a parsed file; reports unset variables and errors by Compose key. */
export function interpolateTree(
  value: unknown,
  path: Path,
  env: Record<string, string | undefined>,
  onUnset: (path: Path, name: string) => void,
  onError: (path: Path, message: string) => void,
): unknown {
  if (typeof value === 'string') {
    return interpolateString(value, env, { unset: (name) => onUnset(path, name), error: (message) => onError(path, message) });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, [...path, i], env, onUnset, onError));
  if (isObj(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateTree(v, [...path, k], env, onUnset, onError)]));
  }
  return value;
}

/** Keys whose list form ("KEY=value") and map form mean the same, merged key by key by `extends`. */
const MAPPING_KEYS = new Set(['environment', 'labels', 'extra_hosts', 'sysctls', 'annotations', 'depends_on']);
/** Keys `extends` replaces as a whole rather than merging. */
const REPLACED_KEYS = new Set(['command', 'entrypoint', 'test', 'image', 'build']);

function asMapping(value: unknown): Obj {
  if (isObj(value)) return value;
  if (!Array.isArray(value)) return {};
  const out: Obj = {};
  for (const entry of value) {
    const text = String(entry);
    const eq = text.indexOf('=');
    if (eq < 0) out[text] = null;
    else out[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return out;
}

/** The Compose Specification's merge of a service onto the one it extends: the local side wins. */
export function mergeService(base: Obj, local: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(local)) {
    const b = out[k];
    if (b === undefined || REPLACED_KEYS.has(k)) out[k] = v;
    else if (MAPPING_KEYS.has(k) && (Array.isArray(v) || isObj(v)) && (Array.isArray(b) || isObj(b))) out[k] = { ...asMapping(b), ...asMapping(v) };
    else if (Array.isArray(b) && Array.isArray(v)) out[k] = [...b, ...v.filter((x) => !b.some((y) => JSON.stringify(y) === JSON.stringify(x)))];
    else if (isObj(b) && isObj(v)) out[k] = mergeService(b, v);
    else out[k] = v;
  }
  return out;
}

/** A path as a key of the `files` option: relative to the Compose file's folder, without "./". */
export const fileKey = (file: string): string => file.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

export { formatPath };
