import type { Response } from 'express';
import type { ChangeResult } from '../changes/change-pipeline.service.js';

/** REST status of a change: 202 while its operation runs, 200 when it is over (or nothing changed). */
export function answer(res: Response, result: ChangeResult): ChangeResult {
  const open = result.operation && (result.operation.status === 'running' || result.operation.status === 'pending');
  res.status(open ? 202 : 200);
  return result;
}
