import { SetMetadata } from '@nestjs/common';
import type { Access } from './access.js';

export const ACCESS_KEY = 'berth:access';
export const PUBLIC_KEY = 'berth:public';

/** The access a handler needs, where the default (GET/Query: read; anything else: operate) is not it. */
export const RequireAccess = (access: Access) => SetMetadata(ACCESS_KEY, access);

/** Served without a token: always, or as BERTH_PUBLIC_HEALTH / BERTH_PUBLIC_METRICS say. */
export const Public = (which: 'always' | 'health' | 'metrics' = 'always') => SetMetadata(PUBLIC_KEY, which);
