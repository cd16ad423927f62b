import { access } from 'node:fs/promises';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import type { PrismaClient } from '@berth/db';
import { CONFIG, type Config } from '../config/config.js';
import { LOGGER } from '../common/logger.js';
import { PRISMA } from '../database/database.module.js';
import { ClustersService } from './clusters.service.js';

/**
 * On the very first start (no cluster registered yet), registers the local Docker engine as
 * cluster "local" when its socket answers as a swarm manager, so the quick start has something to
 * deploy to. Later starts leave the registry alone, even if "local" was removed on purpose.
 */
@Injectable()
export class LocalDockerBootstrap implements OnApplicationBootstrap {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly clusters: ClustersService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap() {
    const { enabled, socketPath } = this.config.localDocker;
    if (!enabled || (await this.prisma.cluster.count()) > 0) return;
    if (
      !(await access(socketPath).then(
        () => true,
        () => false,
      ))
    ) {
      this.logger.info({ socketPath }, 'no local Docker engine; register clusters through the API');
      return;
    }
    try {
      const cluster = await this.clusters.register({ name: 'local', kind: 'swarm', socketPath, labels: { source: 'local-docker' } }, 'berth');
      this.logger.info({ cluster: cluster.name, version: cluster.version }, 'registered the local Docker engine');
    } catch (e) {
      this.logger.info({ socketPath, reason: (e as Error).message }, 'local Docker engine not registered');
    }
  }
}
