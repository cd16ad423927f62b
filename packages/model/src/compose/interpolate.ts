/**
 * Compose interpolation, as the Compose Specification defines it: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+replacement}`, `${VAR+replacement}`
 * and `$$` for a literal `$`. Defaults and replacements may themselves hold interpolations.
 */
export interface InterpolationHooks {
  /** A variable used without a default that is not set (Compose substitutes an empty string). */
  unset(name: string): void;
  /** A required variable (`:?`, `?`) that is not set, or a malformed expression. */
  error(message: string): void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** The index of the `}` closing the expression whose body starts at `from`, honouring nested `${...}`. */
function closingBrace(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') i++;
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

export function interpolateString(text: string, env: Record<string, string | undefined>, hooks: InterpolationHooks): string {
  if (!text.includes('$')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) {
        hooks.error(`"${text}" has a "\${" without its closing "}"`);
        return out + text.slice(i);
      }
      const body = text.slice(i + 2, end);
      out += expression(body, env, hooks);
      i = end + 1;
      continue;
    }
    const bare = NAME.exec(text.slice(i + 1));
    if (bare) {
      const value = env[bare[0]];
      if (value === undefined) hooks.unset(bare[0]);
      out += value ?? '';
      i += 1 + bare[0].length;
      continue;
    }
    out += '$';
    i++;
  }
  return out;
}

function expression(body: string, env: Record<string, string | undefined>, hooks: InterpolationHooks): string {
  const name = NAME.exec(body)?.[0];
  if (!name) {
    hooks.error(`"\${${body}}" is not a variable reference: expected \${NAME}, \${NAME:-default} and the like`);
    return '';
  }
  const rest = body.slice(name.length);
  const value = env[name];
  const isSet = value !== undefined;
  const nonEmpty = isSet && value !== '';
  if (rest === '') {
    if (!isSet) hooks.unset(name);
    return value ?? '';
  }
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (!op) {
    hooks.error(`"\${${body}}": unknown operator after "${name}" (Compose knows :-, -, :?, ?, :+ and +)`);
    return '';
  }
  const arg = () => interpolateString(rest.slice(op.length), env, hooks);
  switch (op) {
    case ':-':
      return nonEmpty ? value : arg();
    case '-':
      return isSet ? value : arg();
    case ':?':
    case '?': {
      if (op === ':?' ? nonEmpty : isSet) return value!;
      const message = arg();
      hooks.error(`required variable ${name} is ${isSet ? 'empty' : 'not set'}${message ? `: ${message}` : ''}`);
      return '';
    }
    case ':+':
      return nonEmpty ? arg() : '';
    default:
      return isSet ? arg() : '';
  }
}

/** Parses a dotenv file as Compose reads `env_file` and `.env`: KEY=value lines, # comments, quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    if (/^"/.test(value)) {
      const end = value.lastIndexOf('"');
      value = value
        .slice(1, end > 0 ? end : undefined)
        .replace(/\\n/g, '\n')
        .replace(/\\"/g, '"');
    } else if (/^'/.test(value)) {
      const end = value.lastIndexOf("'");
      value = value.slice(1, end > 0 ? end : undefined);
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[m[1]!] = value;
  }
  return out;
}
