import { Module } from '@nestjs/common';
import { ClusterDrivers } from '../drivers/cluster-drivers.service.js';
import { DRIVER_FACTORY, createDriver } from '../drivers/driver.factory.js';
import { type GatewayOverrides, OVERRIDES } from '../core.module.js';
import { ClustersController } from './clusters.controller.js';
import { ClustersResolver } from './clusters.resolver.js';
import { ClustersService } from './clusters.service.js';
import { LocalDockerBootstrap } from './local-docker.bootstrap.js';

@Module({
  providers: [
    { provide: DRIVER_FACTORY, inject: [OVERRIDES], useFactory: (o: GatewayOverrides) => o.driverFactory ?? createDriver },
    ClusterDrivers,
    ClustersService,
    ClustersResolver,
    LocalDockerBootstrap,
  ],
  controllers: [ClustersController],
  exports: [ClustersService, ClusterDrivers],
})
export class ClustersModule {}
