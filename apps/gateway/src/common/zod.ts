import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { parseOrThrow } from '@berth/model';

/** Validates a request part with a zod schema; refusal names every bad path (unknown fields included). */
@Injectable()
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly what = 'request',
  ) {}

  transform(value: unknown, meta: ArgumentMetadata): z.output<S> {
    return parseOrThrow(this.schema, value ?? (meta.type === 'body' ? {} : value), this.what);
  }
}

type JsonSchema = Record<string, unknown>;
const pending: { target: JsonSchema; schema: z.ZodType; io: 'input' | 'output' }[] = [];

/**
 * OpenAPI 3 schema of what a zod schema accepts, for @ApiBody / @ApiResponse. Filled in by
 * `resolveOpenApiSchemas` when the document is built: decorators run at import time, before every
 * shared schema has its component id in `z.globalRegistry` (see openapi-components.ts).
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const target: JsonSchema = {};
  pending.push({ target, schema, io });
  return target;
}

const DEFINITIONS = '#/definitions/';
const COMPONENTS = '#/components/schemas/';

/**
 * Converts every schema handed to the decorators; schemas with an `id` in `z.globalRegistry` become
 * components (`$ref`) instead of inline copies. Where a component's input and output differ (defaults,
 * transforms), the input one is named `<id>Input`. `overrides` replace what zod cannot express (a
 * transform's output). Returns the components.
 */
export function resolveOpenApiSchemas(overrides: Map<z.ZodType, Partial<Record<'input' | 'output', JsonSchema>>> = new Map()): Record<string, JsonSchema> {
  // refs carry their direction until we know which components differ between the two
  const defs = { input: new Map<string, JsonSchema>(), output: new Map<string, JsonSchema>() };
  const marked = (value: unknown, io: 'input' | 'output'): unknown => JSON.parse(JSON.stringify(value).replaceAll(`"${DEFINITIONS}`, `"${COMPONENTS}${io}:`));
  for (const { target, schema, io } of pending) {
    const json = z.toJSONSchema(schema, {
      target: 'openapi-3.0',
      io,
      unrepresentable: 'any',
      override: (ctx) => {
        const replacement = overrides.get(ctx.zodSchema as unknown as z.ZodType)?.[io];
        if (!replacement) return;
        for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonSchema)[key];
        Object.assign(ctx.jsonSchema, replacement);
      },
    }) as JsonSchema;
    const { $schema: _, definitions, ...rest } = json;
    for (const [id, def] of Object.entries((definitions ?? {}) as Record<string, JsonSchema>)) defs[io].set(id, marked(def, io) as JsonSchema);
    for (const key of Object.keys(target)) delete target[key];
    Object.assign(target, marked(rest, io));
  }
  // a component is shared by both directions when its text matches and everything it refers to is shared
  const refsOf = (def: JsonSchema) => [...JSON.stringify(def).matchAll(/#\/components\/schemas\/(?:input|output):([^"]+)"/g)].map((m) => m[1]!);
  const unmarked = (def: JsonSchema) => JSON.stringify(def).replaceAll(/(#\/components\/schemas\/)(?:input|output):/g, '$1');
  const shared = new Set([...defs.input.keys()].filter((id) => defs.output.has(id) && unmarked(defs.input.get(id)!) === unmarked(defs.output.get(id)!)));
  for (let changed = true; changed;) {
    changed = false;
    for (const id of shared)
      if ([...refsOf(defs.input.get(id)!), ...refsOf(defs.output.get(id)!)].some((ref) => !shared.has(ref))) {
        shared.delete(id);
        changed = true;
      }
  }
  const nameOf = (io: string, id: string) => (io === 'input' && !shared.has(id) && defs.output.has(id) ? `${id}Input` : id);
  const named = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value).replaceAll(/#\/components\/schemas\/(input|output):([^"]+)"/g, (_m, io: string, id: string) => `${COMPONENTS}${nameOf(io, id)}"`),
    );
  const components: Record<string, JsonSchema> = {};
  for (const io of ['output', 'input'] as const) for (const [id, def] of defs[io]) components[nameOf(io, id)] = named(def) as JsonSchema;
  for (const { target } of pending) {
    const resolved = named(target) as JsonSchema;
    for (const key of Object.keys(target)) delete target[key];
    Object.assign(target, resolved);
  }
  return Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
}
