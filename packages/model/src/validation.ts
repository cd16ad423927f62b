import type { z } from 'zod';

/** One problem with an input, located by a readable path: `services.web.ports[0].target`. */
export interface SpecIssue {
  path: string;
  message: string;
}

/** Thrown for input that does not fit a schema; `issues` names every problem found. */
export class SpecValidationError extends Error {
  constructor(
    readonly what: string,
    readonly issues: SpecIssue[],
  ) {
    super(`invalid ${what}: ${issues.map(formatIssue).join('; ')}`);
    this.name = 'SpecValidationError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function formatIssue(issue: SpecIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

function toIssues(error: z.ZodError, prefix: readonly PropertyKey[]): SpecIssue[] {
  return error.issues.map((i) => {
    const path = formatPath([...prefix, ...i.path]);
    if (i.code === 'unrecognized_keys') {
      return { path, message: `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` };
    }
    if (i.code === 'invalid_type' && i.input === undefined) return { path, message: 'required' };
    if (i.code === 'invalid_union') {
      // A value of the right type that failed its branch's own check says more than "Invalid input".
      const specific = i.errors.flat().find((sub) => sub.code !== 'invalid_type');
      if (specific) return { path: formatPath([...prefix, ...i.path, ...specific.path]), message: specific.message };
    }
    return { path, message: i.message };
  });
}

/** Parses `input` with `schema`, throwing a SpecValidationError that names every bad path. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix: readonly PropertyKey[] = []): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new SpecValidationError(what, toIssues(result.error, prefix));
  return result.data;
}
