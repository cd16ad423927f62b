import type { INestApplication } from '@nestjs/common';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { printSchema } from 'graphql';
import path from 'node:path';

/** The checked-in GraphQL schema; a test fails when the code's schema and this file differ. */
export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../schema.gql');

export function printedSchema(app: INestApplication): string {
  return `${printSchema(app.get(GraphQLSchemaHost).schema)}\n`;
}
