/**
 * Re-seals every cluster's credentials and every stored app secret value with the active key (BERTH_SECRET_KEY), reading them with
 * whichever key sealed them (BERTH_SECRET_KEY_PREVIOUS). Run it after adding a new key; once it
 * reports 0 left on old keys, the previous keys can be dropped from the environment.
 *   BERTH_SECRET_KEY=<new> BERTH_SECRET_KEY_PREVIOUS=<old> node apps/gateway/dist/rotate-key.js
 */
import { openDatabase, targetFromEnv } from '@berth/db';
import { ConfigError, loadConfig } from './config/config.js';
import { SecretBox, resealRows, resolveSecretKey } from './secrets/secret-box.js';

export async function rotateKey(env: NodeJS.ProcessEnv): Promise<{ resealed: number; current: number; secretsResealed: number; secretsCurrent: number }> {
  const config = loadConfig(env);
  const { key } = await resolveSecretKey(config.secretKey, config.dataDir);
  const box = new SecretBox(key, config.previousSecretKeys);
  const db = await openDatabase(targetFromEnv(config.databaseUrl, config.dataDir));
  try {
    const clusters = await db.prisma.cluster.findMany({ select: { id: true, credentials: true, keyId: true } });
    const resealed = await resealRows(
      box,
      clusters.map((c) => ({ id: c.id, sealed: c.credentials, keyId: c.keyId })),
      async (id, credentials, keyId, from) => (await db.prisma.cluster.updateMany({ where: { id, keyId: from }, data: { credentials, keyId } })).count,
    );
    const secrets = await db.prisma.appSecret.findMany({ select: { id: true, sealed: true, keyId: true } });
    const secretsResealed = await resealRows(
      box,
      secrets,
      async (id, sealed, keyId, from) => (await db.prisma.appSecret.updateMany({ where: { id, keyId: from }, data: { sealed, keyId } })).count,
    );
    return { resealed, current: clusters.length - resealed, secretsResealed, secretsCurrent: secrets.length - secretsResealed };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const { resealed, current, secretsResealed, secretsCurrent } = await rotateKey(process.env);
    console.log(`re-sealed ${resealed} cluster credential(s) with the active key; ${current} already on it`);
    console.log(`re-sealed ${secretsResealed} app secret value(s) with the active key; ${secretsCurrent} already on it`);
    process.exit(0);
  } catch (e) {
    console.error(e instanceof ConfigError ? e.message : `key rotation failed: ${(e as Error).message}`);
    process.exit(1);
  }
}
