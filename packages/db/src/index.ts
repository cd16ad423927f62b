export * from './client.js';
export { applyMigrations, diffMigrations, MIGRATIONS_DIR } from './migrate.js';
export * from './generated/prisma/client.js';
export { createScratchDatabase } from './scratch.js';
