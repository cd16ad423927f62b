import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A short public fingerprint of a key, stored beside what it sealed so rotation knows which key to use. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * AES-256-GCM sealing of cluster credentials. The active key seals; earlier keys still open what
 * they sealed until it is re-sealed (key rotation).
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  readonly activeKeyId: string;

  constructor(active: Buffer, previous: Buffer[] = []) {
    if (active.length !== 32) throw new Error('the secret key must be 32 bytes');
    this.activeKeyId = keyId(active);
    this.keys.set(this.activeKeyId, active);
    for (const k of previous) this.keys.set(keyId(k), k);
  }

  seal(plaintext: string): { sealed: Buffer; keyId: string } {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId)!, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { sealed: Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]), keyId: this.activeKeyId };
  }

  open(sealed: Uint8Array, sealedWith: string): string {
    const key = this.keys.get(sealedWith);
    if (!key) throw new Error(`credentials were sealed with key ${sealedWith}, which is not configured (BERTH_SECRET_KEY / BERTH_SECRET_KEY_PREVIOUS)`);
    const buf = Buffer.from(sealed);
    if (buf[0] !== VERSION) throw new Error(`unknown sealed-secret format ${buf[0]}`);
    const iv = buf.subarray(1, 1 + IV_BYTES);
    const tag = buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

/**
 * Re-seals with the active key every row sealed with another (key rotation). `write` stores one row
 * only if it is still sealed with `from` (a concurrent rotation may have won) and says how many it
 * changed. Returns how many rows were re-sealed.
 */
export async function resealRows(
  box: SecretBox,
  rows: { id: string; sealed: Uint8Array; keyId: string }[],
  write: (id: string, sealed: Uint8Array<ArrayBuffer>, keyId: string, from: string) => Promise<number>,
): Promise<number> {
  let resealed = 0;
  for (const r of rows) {
    if (r.keyId === box.activeKeyId) continue;
    const { sealed, keyId } = box.seal(box.open(r.sealed, r.keyId));
    resealed += await write(r.id, new Uint8Array(sealed), keyId, r.keyId);
  }
  return resealed;
}

/** The configured key, or the one generated once in the data folder for the embedded default. */
export async function resolveSecretKey(configured: Buffer | undefined, dataDir: string): Promise<{ key: Buffer; generated: boolean; file?: string }> {
  if (configured) return { key: configured, generated: false };
  const file = path.join(dataDir, 'secret.key');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing) return { key: Buffer.from(existing.trim(), 'base64'), generated: false, file };
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  await chmod(file, 0o600);
  const winner = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  return { key: winner, generated: true, file };
}
