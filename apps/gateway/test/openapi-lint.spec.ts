import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { OPENAPI_FILE } from '../src/schema-file.js';

/**
 * The checked-in openapi.json passes Redocly's recommended rules (redocly.yaml; only info-license is
 * off) and Spectral's spectral:oas (.spectral.yaml) with no error and no warning: what a generator or
 * a docs site would stumble on is caught here, not by the next client author.
 */
const GATEWAY = path.resolve(import.meta.dirname, '..');
const bin = (name: string) => path.join(GATEWAY, 'node_modules/.bin', name);

describe('OpenAPI document lint', () => {
  it('Redocly (recommended) finds no problem', () => {
    const run = spawnSync(bin('redocly'), ['lint', '--config', path.join(GATEWAY, 'redocly.yaml'), '--format', 'json', OPENAPI_FILE], {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as {
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
    };
    expect(report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
    expect(run.status).toBe(0);
  }, 60_000);

  it('Spectral (spectral:oas) finds no problem', () => {
    const run = spawnSync(
      bin('spectral'),
      ['lint', '--ruleset', path.join(GATEWAY, '.spectral.yaml'), '--format', 'json', '--fail-severity', 'hint', OPENAPI_FILE],
      {
        encoding: 'utf8',
      },
    );
    const problems = JSON.parse(run.stdout.slice(run.stdout.indexOf('['), run.stdout.lastIndexOf(']') + 1)) as {
      code: string;
      severity: number;
      message: string;
      path: string[];
    }[];
    expect(problems.map((p) => `${p.code} at ${p.path.join('.')}: ${p.message}`)).toEqual([]);
    expect(run.status).toBe(0);
  }, 60_000);
});
