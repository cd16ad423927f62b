import { Field, Float, InputType, Int, registerEnumType } from '@nestjs/graphql';
import { GraphQLScalarType, Kind } from 'graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Duration } from '@berth/model';
import type { z } from 'zod';

/**
 * GraphQL types made from the zod schemas REST validates with, so both transports accept the same
 * fields and the zod schema stays the one validation: a generated input type only shapes what
 * GraphQL lets through (names, scalars, enums, nesting); the service still parses the value with
 * the zod schema and answers INVALID with the same details as REST.
 *
 * Where JSON and GraphQL differ, the input type says how: a map of objects (AppSpec `services`,
 * `volumes`, `secrets`) is a list whose items carry the key as `name`; a map of strings (`env`,
 * `labels`) stays a JSON object; a discriminated union (a volume mount) is one input type with the
 * union's fields and its discriminator as an enum. `fromGraphqlInput` turns a GraphQL value back
 * into the JSON the zod schema (and REST) takes.
 */

type Schema = z.ZodType;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- zod keeps a different definition for each kind of schema
type Def = { type: string; [key: string]: any };
const defOf = (schema: Schema) => (schema as unknown as { def: Def }).def;

/** GraphQL's name of an enum value: "rolling-back" -> ROLLING_BACK, "hostPath" -> HOST_PATH. */
export function enumValueName(value: string): string {
  return value
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

/**
 * Registers a GraphQL enum whose values are `values` (what REST answers), named in GraphQL's
 * upper case, and returns the object to give @Field.
 */
export function graphqlEnum<T extends string>(
  name: string,
  values: readonly T[],
  description: string,
  valueDescriptions: Partial<Record<T, string>> = {},
): Record<string, T> {
  const object = Object.fromEntries(values.map((v) => [enumValueName(v), v])) as Record<string, T>;
  const valuesMap = Object.fromEntries(values.map((v) => [enumValueName(v), { description: valueDescriptions[v] ?? `\`${v}\` in the REST API` }]));
  registerEnumType(object, { name, description, valuesMap });
  return object;
}

/** A duration: milliseconds (Int) or a string like "10s", "1m30s", as in AppSpec. */
export const DurationScalar = new GraphQLScalarType({
  name: 'Duration',
  description: 'A duration: a whole number of milliseconds, or a string like "500ms", "10s" or "1m30s"',
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value === 'number' || typeof value === 'string') return value;
    throw new TypeError('expected a duration: milliseconds or a string like "10s"');
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT) return Number(ast.value);
    if (ast.kind === Kind.STRING) return ast.value;
    throw new TypeError('expected a duration: milliseconds or a string like "10s"');
  },
});

const pascal = (text: string) => text.replace(/(^|[^A-Za-z0-9])([a-z])/g, (_, __, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '');

/** The schema under optional/default/nullable/pipe wrappers, with what they add. */
function unwrap(schema: Schema): { inner: Schema; optional: boolean; defaultValue?: unknown; description?: string } {
  let inner = schema;
  let optional = false;
  let defaultValue: unknown;
  let description = (schema as { description?: string }).description;
  for (;;) {
    const def = defOf(inner);
    if (def.type === 'optional' || def.type === 'nullable') optional = true;
    else if (def.type === 'default') {
      optional = true;
      defaultValue = typeof def.defaultValue === 'function' ? def.defaultValue() : def.defaultValue;
    } else if (def.type !== 'pipe') break;
    inner = def.type === 'pipe' ? def.in : def.innerType;
    description ??= (inner as { description?: string }).description;
  }
  return { inner, optional, defaultValue, description };
}

const isObjectLike = (schema: Schema) => {
  const { type, options } = defOf(unwrap(schema).inner);
  return type === 'object' || (type === 'union' && (options as Schema[]).every((o) => defOf(unwrap(o).inner).type === 'object'));
};

const isDuration = (schema: Schema) => schema === Duration || unwrap(schema).inner === Duration;

/**
 * Builds GraphQL input types from zod schemas; one registry, so that a schema used in several places
 * makes one type. `names` names the shared schemas; the others are named after their owner and field.
 */
export class ZodInputTypes {
  private readonly types = new Map<unknown, unknown>();
  private readonly taken = new Set<string>();
  private readonly missing: string[] = [];

  constructor(
    private readonly names: Map<Schema, string>,
    private readonly descriptions: Record<string, string>,
  ) {}

  /** The input type of `schema`, registered as `<name>Input`. */
  input(schema: Schema, name: string): new () => object {
    return this.objectType(schema, name) as new () => object;
  }

  /** Every generated type and field is described: refuses to start with a list of those that are not. */
  assertDescribed(): void {
    if (this.missing.length) throw new Error(`GraphQL input types without a description (add them in graphql/inputs.ts): ${this.missing.join(', ')}`);
  }

  /** The GraphQL enum of a zod enum (the same one the input types use). */
  enumOf(schema: Schema): Record<string, string> {
    return this.enumType(schema, this.nameOf(schema, 'Enum')) as Record<string, string>;
  }

  private nameOf(schema: Schema, fallback: string) {
    return this.names.get(schema) ?? this.names.get(unwrap(schema).inner) ?? fallback;
  }

  private fieldType(schema: Schema, owner: string, key: string): { type: unknown; list?: boolean } {
    if (isDuration(schema)) return { type: DurationScalar };
    const inner = unwrap(schema).inner;
    const def = defOf(inner);
    const name = this.nameOf(inner, `${owner}${pascal(key)}`);
    switch (def.type) {
      case 'string':
        return { type: String };
      case 'number':
        return { type: (inner as { format?: string }).format === 'safeint' || (inner as { isInt?: boolean }).isInt ? Int : Float };
      case 'boolean':
        return { type: Boolean };
      case 'enum':
      case 'literal':
        return { type: this.enumType(inner, name) };
      case 'array':
        return { type: this.fieldType(def.element, owner, key.replace(/s$/, '')).type, list: true };
      case 'object':
        return { type: this.objectType(inner, name) };
      case 'union':
        return { type: isObjectLike(inner) ? this.objectType(inner, name) : GraphQLJSONObject };
      case 'record':
        // a map of objects becomes a list of them, each with its key as `name`
        if (isObjectLike(def.valueType)) return { type: this.objectType(def.valueType, this.nameOf(def.valueType, name.replace(/s$/, '')), true), list: true };
        return { type: GraphQLJSONObject };
      default:
        return { type: GraphQLJSONObject };
    }
  }

  private enumType(schema: Schema, name: string) {
    const cached = this.types.get(schema);
    if (cached) return cached;
    const def = defOf(schema);
    const values: string[] = def.type === 'literal' ? def.values : Object.values(def.entries);
    const object = graphqlEnum(this.unique(name), values, this.descriptions[name] ?? `One of ${values.map((v) => `"${v}"`).join(', ')}, as in the REST API`);
    this.types.set(schema, object);
    return object;
  }

  private unique(name: string) {
    let candidate = name;
    for (let i = 2; this.taken.has(candidate); i++) candidate = `${name}${i}`;
    this.taken.add(candidate);
    return candidate;
  }

  private objectType(schema: Schema, name: string, keyed = false) {
    const inner = unwrap(schema).inner;
    const def = defOf(inner);
    const cacheKey = keyed ? def : inner;
    const cached = this.types.get(cacheKey);
    if (cached) return cached;
    const typeName = this.unique(`${name}Input`);
    const cls = { [typeName]: class {} }[typeName]!;
    this.types.set(cacheKey, cls);
    // a discriminated union: every option's fields, only the discriminator and common fields required
    const shapes: Record<string, Schema>[] = def.type === 'union' ? (def.options as Schema[]).map((o) => defOf(unwrap(o).inner).shape) : [def.shape];
    const fields = new Map<string, { schema: Schema; required: boolean }>();
    for (const shape of shapes) {
      for (const [key, field] of Object.entries(shape)) {
        const required = !unwrap(field).optional && shapes.every((s) => key in s);
        fields.set(key, { schema: fields.get(key)?.schema ?? field, required: (fields.get(key)?.required ?? true) && required });
      }
    }
    if (def.type === 'union' && def.discriminator) {
      const values = shapes.map((s) => defOf(s[def.discriminator]!).values[0] as string);
      fields.set(def.discriminator, { schema: { def: { type: 'literal', values } } as unknown as Schema, required: true });
    }
    if (keyed) Field(() => String, { description: 'Its name: the key of the map in the JSON the REST API takes' })(cls.prototype, 'name');
    for (const [key, { schema: field, required }] of fields) {
      const { type, list } = this.fieldType(field, name, key);
      const { defaultValue, description: own } = unwrap(field);
      const text = this.descriptions[`${name}.${key}`] ?? own;
      if (!text) this.missing.push(`${name}.${key}`);
      const described = text && defaultValue !== undefined ? `${text} (default: ${JSON.stringify(defaultValue)})` : text;
      (Field as (type: () => unknown, options: object) => PropertyDecorator)(() => (list ? [type] : type), {
        nullable: !required,
        description: described && described.charAt(0).toUpperCase() + described.slice(1),
      })(cls.prototype, key);
    }
    const description = this.descriptions[name];
    if (!description) this.missing.push(name);
    InputType(typeName, { description: description ?? '' })(cls);
    return cls;
  }
}

/** Turns a value of a generated input type back into the JSON its zod schema (and REST) takes. */
export function fromGraphqlInput(schema: Schema, value: unknown): unknown {
  return convertInput(schema, value, 'fromGraphql');
}

/** The other way: the JSON REST takes as the value of the generated input type (for clients and tests). */
export function toGraphqlInput(schema: Schema, value: unknown): unknown {
  return convertInput(schema, value, 'toGraphql');
}

/**
 * One walk for both directions. They differ in two places: a record of objects is a list of
 * `{name, ...}` items in GraphQL, and enum values carry GraphQL's upper-case names (the way in needs
 * no mapping: registered enums already hand the resolver the REST value).
 */
function convertInput(schema: Schema, value: unknown, direction: 'fromGraphql' | 'toGraphql'): unknown {
  if (value === null || value === undefined) return value;
  if (isDuration(schema)) return value;
  const def = defOf(unwrap(schema).inner);
  const walk = (s: Schema, v: unknown) => convertInput(s, v, direction);
  switch (def.type) {
    case 'array':
      return Array.isArray(value) ? value.map((v) => walk(def.element, v)) : value;
    case 'record':
      if (!isObjectLike(def.valueType)) return value;
      if (direction === 'fromGraphql') {
        return Array.isArray(value)
          ? Object.fromEntries(
              value.map((item: Record<string, unknown>) => {
                const { name, ...rest } = item;
                return [name, walk(def.valueType, rest)];
              }),
            )
          : value;
      }
      return typeof value === 'object' ? Object.entries(value).map(([name, v]) => ({ name, ...(walk(def.valueType, v) as object) })) : value;
    case 'object':
      return typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, def.shape[k] ? walk(def.shape[k], v) : v])) : value;
    case 'enum':
    case 'literal':
      return direction === 'toGraphql' && typeof value === 'string' ? enumValueName(value) : value;
    case 'union': {
      if (!def.discriminator || typeof value !== 'object') return value;
      const option = (def.options as Schema[]).find(
        (o) => defOf(defOf(unwrap(o).inner).shape[def.discriminator]).values[0] === (value as Record<string, unknown>)[def.discriminator],
      );
      return option ? walk(option, value) : value;
    }
    default:
      return value;
  }
}
