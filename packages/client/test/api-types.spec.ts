import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';

const here = import.meta.dirname;

describe('generated API types', () => {
  it('match apps/gateway/openapi.json (run `pnpm --filter @berth/client generate` after emitting it)', async () => {
    const doc = JSON.parse(await readFile(path.join(here, '../../../apps/gateway/openapi.json'), 'utf8'));
    const generated = astToString(await openapiTS(doc));
    const checkedIn = await readFile(path.join(here, '../src/api.ts'), 'utf8');
    // the CLI adds a banner comment above what the API produces
    expect(checkedIn.endsWith(generated)).toBe(true);
  }, 60_000);
});
