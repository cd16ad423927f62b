import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ApiToken, PrismaClient, TokenGrant } from '@berth/db';
import { DnsLabel, parseOrThrow } from '@berth/model';
import { CONFIG, type Config } from '../config/config.js';
import { BerthError, ErrorCode } from '../common/errors.js';
import { TtlCache } from '../common/ttl-cache.js';
import { LOGGER } from '../common/logger.js';
import { type Grant, type Principal, type Role, requestContext } from '../common/request-context.js';
import { PRISMA } from '../database/database.module.js';
import { isGlobalAdmin } from './access.js';

/** berth_<token id, 32 hex>_<secret, 43 base64url>: the id finds the row, the secret proves it. */
const TOKEN = /^berth_([0-9a-f]{32})_([A-Za-z0-9_-]{32,})$/;
/** How often last-used is written, at most: a write per request would cost more than the request. */
const LAST_USED_EVERY_MS = 60_000;
/**
 * How long a token's row is reused before it is read again. Revoking a token on this gateway drops
 * it at once; a revocation made through another gateway on the same database holds within this bound.
 */
export const TOKEN_CACHE_TTL_MS = 5_000;
/** Tokens kept at most; past it the stale ones go first, then the oldest. */
export const TOKEN_CACHE_MAX = 1_000;

/** What `verify` needs of a token row. Keyed by token id; the secret itself is never kept, only its salted HMAC, as in the database. */
interface CachedToken {
  name: string;
  salt: string;
  secretHash: Buffer;
  expiresAt?: number;
  revoked: boolean;
  grants: readonly Grant[];
}

export const CreateTokenRequest = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 letters, digits and ._-'),
  grants: z
    .array(
      z.strictObject({
        role: z.enum(['viewer', 'operator', 'admin']),
        /** A cluster name or id; omitted: every cluster. */
        cluster: z.string().min(1).optional(),
        /** Narrows the grant to one app of the cluster. */
        app: DnsLabel.optional(),
      }),
    )
    .min(1, 'expected at least one grant'),
  /** When the token stops working (ISO 8601); omitted: never. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export interface TokenView {
  id: string;
  name: string;
  grants: { role: Role; cluster?: string; app?: string }[];
  createdBy?: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

const hash = (secret: string, salt: string) => createHmac('sha256', Buffer.from(salt, 'hex')).update(secret).digest();

/**
 * API tokens: shown once at creation, stored as a salted HMAC of a 256-bit secret (a slow hash adds
 * nothing against a secret that cannot be guessed, and would cost every request).
 */
@Injectable()
export class TokensService implements OnApplicationBootstrap {
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly cache = new TtlCache<string, CachedToken>(TOKEN_CACHE_TTL_MS, TOKEN_CACHE_MAX);

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** On the very first start, an admin token on every cluster, shown once (or written to a file). */
  async onApplicationBootstrap() {
    if ((await this.prisma.apiToken.count()) > 0) return;
    const given = this.config.auth.bootstrapToken;
    const { token } = await this.insert('bootstrap-admin', [{ role: 'admin', clusterId: null, app: null }], undefined, 'berth', given);
    if (given) {
      this.logger.info('created the bootstrap admin token from BERTH_BOOTSTRAP_TOKEN');
    } else if (this.config.auth.bootstrapTokenFile) {
      await writeFile(this.config.auth.bootstrapTokenFile, `${token}\n`, { mode: 0o600 });
      this.logger.info({ file: this.config.auth.bootstrapTokenFile }, 'wrote the bootstrap admin token');
    } else {
      // outside the JSON log on purpose: shown once to whoever started the gateway, never stored in logs
      process.stderr.write(`\nBerth bootstrap admin token (shown once; keep it safe):\n  ${token}\n\n`);
    }
  }

  /** The principal of a bearer token; refused (401) when unknown, malformed, revoked or expired. */
  async verify(raw: string | undefined): Promise<Principal> {
    if (!raw) throw new BerthError(ErrorCode.Unauthenticated, 'an API token is required: send "Authorization: Bearer <token>"');
    const m = TOKEN.exec(raw);
    const refused = new BerthError(ErrorCode.Unauthenticated, 'the API token is not valid');
    if (!m) throw refused;
    const id = `${m[1]!.slice(0, 8)}-${m[1]!.slice(8, 12)}-${m[1]!.slice(12, 16)}-${m[1]!.slice(16, 20)}-${m[1]!.slice(20)}`;
    const row = await this.load(id);
    if (!row || !timingSafeEqual(hash(m[2]!, row.salt), row.secretHash)) throw refused;
    // expiry is checked on every request, cached row or not
    const expired = row.expiresAt !== undefined && row.expiresAt <= Date.now();
    if (row.revoked || expired) {
      // the secret was right: the audit line may name whose token it was
      const store = requestContext.get();
      if (store) store.requester = `token:${row.name}`;
      throw new BerthError(ErrorCode.Unauthenticated, row.revoked ? 'the API token was revoked' : 'the API token has expired');
    }
    const last = this.lastUsedWritten.get(id) ?? 0;
    if (Date.now() - last > LAST_USED_EVERY_MS) {
      this.lastUsedWritten.set(id, Date.now());
      await this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: new Date() } }).catch(() => undefined);
    }
    return { tokenId: id, name: row.name, grants: row.grants.map((g) => ({ ...g })) };
  }

  /**
   * Drops cached tokens so the next request reads them again: one token, or every token with a grant
   * on `clusterId` (its grants went with the cluster), or all of them.
   */
  forget(which: { tokenId: string } | { clusterId: string } | 'all'): void {
    if (which === 'all') this.cache.forget();
    else if ('tokenId' in which) this.cache.forget((_, id) => id === which.tokenId);
    else this.cache.forget((t) => t.grants.some((g) => g.clusterId === which.clusterId));
  }

  /** The token's row from the cache while it is fresh, else from the database (then cached); undefined when unknown. */
  private load(id: string): Promise<CachedToken | undefined> {
    return this.cache.load(id, async () => {
      const row = await this.prisma.apiToken.findUnique({ where: { id }, include: { grants: true } });
      if (!row) return undefined;
      return {
        name: row.name,
        salt: row.salt,
        secretHash: Buffer.from(row.secretHash, 'hex'),
        expiresAt: row.expiresAt?.getTime(),
        revoked: !!row.revokedAt,
        grants: Object.freeze(row.grants.map((g) => Object.freeze({ role: g.role, clusterId: g.clusterId, app: g.app }))),
      };
    });
  }

  async create(raw: unknown, creator: Principal): Promise<TokenView & { token: string }> {
    const input = parseOrThrow(CreateTokenRequest, raw, 'token');
    if (!isGlobalAdmin(creator)) throw new BerthError(ErrorCode.Forbidden, 'only an admin on every cluster manages tokens');
    if (input.expiresAt && Date.parse(input.expiresAt) <= Date.now())
      throw BerthError.invalid('expiresAt is in the past', [{ path: 'expiresAt', message: 'expected a future time' }]);
    const grants = [];
    for (const [i, g] of input.grants.entries()) {
      let clusterId: string | null = null;
      if (g.cluster) {
        const cluster = await this.prisma.cluster.findFirst({
          where: { OR: [{ name: g.cluster }, ...(/^[0-9a-f-]{36}$/i.test(g.cluster) ? [{ id: g.cluster }] : [])] },
        });
        if (!cluster)
          throw BerthError.invalid(`grants[${i}].cluster: no cluster "${g.cluster}"`, [{ path: `grants[${i}].cluster`, message: `no cluster "${g.cluster}"` }]);
        clusterId = cluster.id;
      } else if (g.app) {
        throw BerthError.invalid(`grants[${i}].app: an app grant needs a cluster`, [{ path: `grants[${i}].app`, message: 'an app grant needs a cluster' }]);
      }
      grants.push({ role: g.role, clusterId, app: g.app ?? null });
    }
    const { row, token } = await this.insert(input.name, grants, input.expiresAt ? new Date(input.expiresAt) : undefined, `token:${creator.name}`);
    return { ...(await this.view(row)), token };
  }

  async list(): Promise<TokenView[]> {
    const rows = await this.prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' }, include: { grants: true } });
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** Revokes at once: the next request with the token is refused. */
  async revoke(id: string): Promise<TokenView> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.prisma.apiToken.findUnique({ where: { id }, include: { grants: true } }) : null;
    if (!row) throw BerthError.notFound(`token "${id}"`);
    const globalAdmin = (t: { grants: TokenGrant[] }) => t.grants.some((g) => g.role === 'admin' && g.clusterId === null && g.app === null);
    if (!row.revokedAt && globalAdmin(row)) {
      const others = await this.prisma.apiToken.findMany({
        where: { id: { not: id }, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
        include: { grants: true },
      });
      if (!others.some(globalAdmin))
        throw BerthError.conflict('this is the last admin token on every cluster: create another one before revoking it, or nobody could manage Berth');
    }
    const updated = await this.prisma.apiToken.update({ where: { id }, data: { revokedAt: row.revokedAt ?? new Date() }, include: { grants: true } });
    this.forget({ tokenId: id });
    return this.view(updated);
  }

  private async insert(
    name: string,
    grants: { role: Role; clusterId: string | null; app: string | null }[],
    expiresAt: Date | undefined,
    createdBy: string,
    given?: string,
  ) {
    const m = given ? TOKEN.exec(given) : null;
    const hexId = m ? m[1]! : randomUUID().replace(/-/g, '');
    const secret = m ? m[2]! : randomBytes(32).toString('base64url');
    const id = `${hexId.slice(0, 8)}-${hexId.slice(8, 12)}-${hexId.slice(12, 16)}-${hexId.slice(16, 20)}-${hexId.slice(20)}`;
    const salt = randomBytes(16).toString('hex');
    const row = await this.prisma.apiToken.create({
      data: { id, name, salt, secretHash: hash(secret, salt).toString('hex'), createdBy, expiresAt, grants: { create: grants } },
      include: { grants: true },
    });
    return { row, token: `berth_${hexId}_${secret}` };
  }

  private async view(row: ApiToken & { grants: TokenGrant[] }): Promise<TokenView> {
    const clusterIds = row.grants.map((g) => g.clusterId).filter((c): c is string => !!c);
    const clusters = new Map(
      (await this.prisma.cluster.findMany({ where: { id: { in: clusterIds } }, select: { id: true, name: true } })).map((c) => [c.id, c.name]),
    );
    return {
      id: row.id,
      name: row.name,
      grants: row.grants.map((g) => ({
        role: g.role,
        ...(g.clusterId ? { cluster: clusters.get(g.clusterId) ?? g.clusterId } : {}),
        ...(g.app ? { app: g.app } : {}),
      })),
      createdBy: row.createdBy ?? undefined,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt?.toISOString(),
      lastUsedAt: row.lastUsedAt?.toISOString(),
      revokedAt: row.revokedAt?.toISOString(),
    };
  }
}
