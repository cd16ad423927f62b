import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module.js';
import { OperationEvents } from './operation-events.js';
import { OperationsController } from './operations.controller.js';
import { OperationsService } from './operations.service.js';

@Module({
  imports: [ClustersModule],
  providers: [OperationsService, OperationEvents],
  controllers: [OperationsController],
  exports: [OperationsService, OperationEvents],
})
export class OperationsModule {}
