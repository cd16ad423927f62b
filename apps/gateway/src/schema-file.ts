import type { INestApplication } from '@nestjs/common';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { printSchema } from 'graphql';
import path from 'node:path';
import { openApiDocument } from './app.factory.js';

/** The checked-in GraphQL schema; a test fails when the code's schema and this file differ. */
export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../schema.gql');

/** The checked-in OpenAPI document, from which packages/client's types are generated. */
export const OPENAPI_FILE = path.resolve(import.meta.dirname, '../openapi.json');

export function printedOpenApi(app: INestApplication): string {
  return `${JSON.stringify(openApiDocument(app), null, 2)}\n`;
}

export function printedSchema(app: INestApplication): string {
  return `${printSchema(app.get(GraphQLSchemaHost).schema)}\n`;
}
