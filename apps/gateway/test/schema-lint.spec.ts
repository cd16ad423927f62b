import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SCHEMA_FILE } from '../src/schema-file.js';

/**
 * graphql-schema-linter (pinned) on the checked-in schema.gql, with its default rules except
 * relay-page-info-spec: lists page with `first`/`after` into `items` + `nextCursor` (as REST does),
 * not Relay connections, so Relay's PageInfo type does not apply.
 */
const LINTER = path.resolve(import.meta.dirname, '../node_modules/.bin/graphql-schema-linter');
const RULES = [
  'arguments-have-descriptions',
  'defined-types-are-used',
  'deprecations-have-a-reason',
  'descriptions-are-capitalized',
  'enum-values-all-caps',
  'enum-values-have-descriptions',
  'fields-are-camel-cased',
  'fields-have-descriptions',
  'input-object-values-are-camel-cased',
  'input-object-values-have-descriptions',
  'types-are-capitalized',
  'types-have-descriptions',
];
function lint(): { rule: string; message: string }[] {
  const run = spawnSync(LINTER, ['-f', 'json', '-r', RULES.join(','), SCHEMA_FILE], { encoding: 'utf8' });
  if (run.error) throw run.error;
  return (JSON.parse(run.stdout) as { errors: { rule: string; message: string }[] }).errors;
}

describe('the GraphQL schema under graphql-schema-linter', () => {
  it('has every type, field, argument, input value and enum value described, enums in capitals, camel-cased fields and every type used', () => {
    expect(lint()).toEqual([]);
  });
});
