import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { type Database, openDatabase, type PrismaClient, targetFromEnv } from '@berth/db';
import { CONFIG, type Config } from '../config/config.js';
import { type GatewayOverrides, OVERRIDES } from '../core.module.js';

export const DATABASE = Symbol('DATABASE');
export const PRISMA = Symbol('PRISMA');

/** Opens Postgres (DATABASE_URL) or embedded PGlite and applies pending migrations before anything else starts. */
@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [CONFIG, OVERRIDES],
      useFactory: (config: Config, overrides: GatewayOverrides): Promise<Database> =>
        openDatabase(overrides.database ?? targetFromEnv(config.databaseUrl, config.dataDir)),
    },
    { provide: PRISMA, inject: [DATABASE], useFactory: (db: Database): PrismaClient => db.prisma },
  ],
  exports: [DATABASE, PRISMA],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  async onApplicationShutdown() {
    await this.db.close();
  }
}
