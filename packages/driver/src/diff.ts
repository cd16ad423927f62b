import diff from 'microdiff';
import { formatPath } from '@berth/model';
import type { FieldChange } from './types.js';

/** Field-level differences from `live` to `desired`, with readable paths (`TaskTemplate.ContainerSpec.Image`). */
export function fieldChanges(live: unknown, desired: unknown): FieldChange[] {
  if (live === undefined || live === null) return [{ path: '', to: desired }];
  return diff(live as Record<string, unknown>, desired as Record<string, unknown>).map((d) => ({
    path: formatPath(d.path),
    ...(d.type !== 'CREATE' ? { from: d.oldValue } : {}),
    ...(d.type !== 'REMOVE' ? { to: d.value } : {}),
  }));
}
