import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '@berth/db';
import type { OrchestratorDriver, SecretValue } from '@berth/driver';
import type { AppSpec, SecretDefinition } from '@berth/model';
import { BerthError } from '../common/errors.js';
import { PRISMA } from '../database/database.module.js';
import { SecretBox } from './secret-box.js';

const newVersion = (): string => randomBytes(6).toString('hex');

function sameValue(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The write-only secrets of app specs. A value is sealed here and stored as a version; specs,
 * revisions, plans and operations only ever name the version, and the value goes out only to the
 * cluster, through the driver's ensureSecrets.
 */
@Injectable()
export class AppSecretsService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
  ) {}

  /**
   * The spec as Berth records it: every secret at a stored version, every mount naming its secret's
   * version. A sent value equal to the latest stored one keeps that version (so re-applying the same
   * spec changes nothing); a different one becomes a new version. `{}` keeps the version the current
   * revision uses (after a rollback, the earlier one), else the latest stored; `{ version }` must be
   * one stored for this app. New values are sealed at once but stored only by `store`, once the
   * spec is known to be valid (so a refused apply leaves nothing). With `dryRun` every sent value
   * counts as new: a plan must not tell a reader whether a guessed value is the stored one.
   */
  async resolve(
    appId: string | undefined,
    spec: AppSpec,
    options: { current?: AppSpec; dryRun?: boolean },
  ): Promise<{ spec: AppSpec; store: (appId: string, author: string) => Promise<void> }> {
    const names = Object.keys(spec.secrets);
    if (!names.length) return { spec, store: async () => {} };
    const stored = appId
      ? await this.prisma.appSecret.findMany({
          where: { appId, name: { in: names } },
          orderBy: { createdAt: 'desc' },
          select: { name: true, version: true, sealed: true, keyId: true },
        })
      : [];
    const problems: { path: string; message: string }[] = [];
    const versions: Record<string, string> = {};
    const created: { name: string; version: string; sealed: Uint8Array<ArrayBuffer>; keyId: string }[] = [];
    for (const [name, def] of Object.entries(spec.secrets) as [string, SecretDefinition][]) {
      const mine = stored.filter((s) => s.name === name);
      const latest = mine[0];
      const inUse = options.current?.secrets?.[name]?.version;
      if (def.value !== undefined) {
        if (!options.dryRun && latest && sameValue(this.box.open(latest.sealed, latest.keyId), def.value)) {
          versions[name] = latest.version;
        } else {
          versions[name] = newVersion();
          if (!options.dryRun) {
            const { sealed, keyId } = this.box.seal(def.value);
            created.push({ name, version: versions[name], sealed: new Uint8Array(sealed), keyId });
          }
        }
      } else if (def.version !== undefined) {
        if (mine.some((s) => s.version === def.version)) versions[name] = def.version;
        else problems.push({ path: `secrets.${name}.version`, message: `app "${spec.name}" has no stored version ${def.version} of secret "${name}"` });
      } else if (inUse && mine.some((s) => s.version === inUse)) {
        versions[name] = inUse;
      } else if (latest) {
        versions[name] = latest.version;
      } else {
        problems.push({
          path: `secrets.${name}`,
          message: `no value is stored for secret "${name}" yet: send it once as {"value": "..."} (a Compose file carries only the reference)`,
        });
      }
    }
    if (problems.length) throw BerthError.invalid(`${problems.length} secret(s) cannot be resolved`, problems);
    const store = async (owner: string, author: string) => {
      if (created.length) await this.prisma.appSecret.createMany({ data: created.map((c) => ({ ...c, appId: owner, createdBy: author })) });
    };
    const resolved: AppSpec = {
      ...spec,
      secrets: Object.fromEntries(names.map((n) => [n, { version: versions[n]! }])),
      services: Object.fromEntries(
        Object.entries(spec.services).map(([name, svc]) => [
          name,
          svc.secrets.length ? { ...svc, secrets: svc.secrets.map((m) => ({ ...m, version: versions[m.source]! })) } : svc,
        ]),
      ),
    };
    return { spec: resolved, store };
  }

  /** Writes, where missing, every secret version the spec's services mount; a no-op for apps without secrets. */
  async ensureOnCluster(driver: OrchestratorDriver, appId: string, spec: AppSpec): Promise<void> {
    const wanted = new Map<string, { name: string; version: string }>();
    for (const svc of Object.values(spec.services)) {
      for (const m of svc.secrets ?? []) if (m.version) wanted.set(`${m.source}@${m.version}`, { name: m.source, version: m.version });
    }
    if (!wanted.size) return;
    const rows = await this.prisma.appSecret.findMany({
      where: { appId, OR: [...wanted.values()].map((w) => ({ name: w.name, version: w.version })) },
      select: { name: true, version: true, sealed: true, keyId: true },
    });
    const missing = [...wanted.keys()].filter((k) => !rows.some((r) => `${r.name}@${r.version}` === k));
    if (missing.length) throw BerthError.invalid(`secret version(s) ${missing.join(', ')} are not stored for this app`);
    const values: SecretValue[] = rows.map((r) => ({ name: r.name, version: r.version, value: this.box.open(r.sealed, r.keyId) }));
    await driver.ensureSecrets(spec.name, values);
  }
}
