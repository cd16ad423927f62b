import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module.js';
import { OperationsModule } from '../operations/operations.module.js';
import { VolumesController } from './volumes.controller.js';
import { VolumesService } from './volumes.service.js';

@Module({ imports: [ClustersModule, OperationsModule], providers: [VolumesService], controllers: [VolumesController] })
export class VolumesModule {}
