import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { CONFIG, type Config } from './config/config.js';
import { LOGGER } from './common/logger.js';
import { SecretBox, resolveSecretKey } from './secrets/secret-box.js';

/** Configuration, the logger and the secret box: what every module may inject. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: Config, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
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
      exports: [CONFIG, LOGGER, SecretBox],
    };
  }
}
