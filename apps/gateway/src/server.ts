import { createApp } from './app.factory.js';
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './common/logger.js';

/** Starts the gateway from the environment (BERTH_*); main.ts is the entry that calls it. */
export async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  const app = await createApp(config, logger);
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  logger.info(
    { url, database: config.databaseUrl ? 'postgres' : `pglite (${config.dataDir})`, docs: `${url}/docs`, graphql: `${url}/graphql` },
    'berth gateway listening',
  );
}
