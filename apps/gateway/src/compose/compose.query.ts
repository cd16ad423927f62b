import { ApiQuery } from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';
import type { ComposeImportOptions } from '@berth/model';
import { BerthError } from '../common/errors.js';

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []).flatMap((s) => s.split(',')).filter(Boolean);

/** Import options given as query parameters next to a YAML body: ?baseDir=/srv/app&profile=debug&image=api=reg/api:1 */
export function composeQueryOptions(query: Record<string, unknown>): Omit<ComposeImportOptions, 'name'> {
  const images: Record<string, string> = {};
  for (const pair of list(query.image)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw BerthError.invalid(`image: expected SERVICE=IMAGE (as ?image=api=registry.example.com/api:1), got "${pair}"`);
    images[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const dir = (key: 'baseDir' | 'homeDir') => {
    const v = query[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !v.startsWith('/')) throw BerthError.invalid(`${key}: expected an absolute folder on the nodes, like /srv/app`);
    return v;
  };
  return { baseDir: dir('baseDir'), homeDir: dir('homeDir'), profiles: list(query.profile), images };
}

/** The query parameters of composeQueryOptions, documented once for every endpoint that takes a Compose file. */
export const ComposeQueries = applyDecorators(
  ApiQuery({ name: 'baseDir', required: false, description: 'for a Compose file: the absolute folder its relative host paths ("./config") resolve against' }),
  ApiQuery({ name: 'homeDir', required: false, description: 'for a Compose file: the absolute folder "~" resolves against' }),
  ApiQuery({ name: 'profile', required: false, description: 'for a Compose file: profiles to enable (repeat or comma-separate)' }),
  ApiQuery({ name: 'image', required: false, description: 'for a Compose file: SERVICE=IMAGE, the image of a build-only service (repeatable)' }),
);
