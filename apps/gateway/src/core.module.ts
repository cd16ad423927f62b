import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { CONFIG, type Config } from './config/config.js';
import { LOGGER } from './common/logger.js';
import { SecretBox, resolveSecretKey } from './secrets/secret-box.js';
import type { DatabaseTarget } from '@berth/db';
import type { DriverFactory } from './drivers/driver.factory.js';

/**
 * What an embedding program (the fast tests) puts in place of the real thing: the drivers (an
 * in-memory one) and the database (PGlite in memory). The gateway itself runs unchanged.
 */
export interface GatewayOverrides {
  driverFactory?: DriverFactory;
  database?: DatabaseTarget;
}
export const OVERRIDES = Symbol('OVERRIDES');

/** Configuration, the logger and the secret box: what every module may inject. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: Config, logger: Logger, overrides: GatewayOverrides = {}): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: OVERRIDES, useValue: overrides },
        {
          provide: SecretBox,
          useFactory: async () => {
            if (!config.secretKey && config.databaseUrl && config.production) {
              throw new Error('BERTH_SECRET_KEY is required in production with DATABASE_URL: every gateway replica must seal credentials with the same key');
            }
            const { key, generated, file } = await resolveSecretKey(config.secretKey, config.dataDir);
            if (generated) logger.warn({ file }, 'generated a secret key for cluster credentials; back it up, or set BERTH_SECRET_KEY');
            return new SecretBox(key, config.previousSecretKeys);
          },
        },
      ],
      exports: [CONFIG, LOGGER, SecretBox, OVERRIDES],
    };
  }
}
