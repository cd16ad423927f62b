/**
 * Creates a database's tables (and, on PGlite, its data folder) in a child process, so the memory
 * initdb and the schema engine take goes back to the system when it exits (see openDatabase).
 */
import { openAdapter, type DatabaseTarget } from './client.js';
import { applyMigrations } from './migrate.js';

process.once('message', (target: DatabaseTarget) => {
  void (async () => {
    const adapter = await openAdapter(target);
    try {
      process.send!({ applied: await applyMigrations(adapter.factory) });
    } finally {
      await adapter.close();
    }
  })().catch((e: Error) => process.send!({ error: e.message }, () => process.exit(1)));
});
