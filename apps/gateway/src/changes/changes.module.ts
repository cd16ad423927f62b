import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module.js';
import { ChangePipeline } from './change-pipeline.service.js';
import { ChangeStore } from './change.store.js';
import { OperationEvents } from './operation-events.js';
import { OperationFollowers } from './operation-followers.service.js';
import { OperationHistory } from './operation-history.service.js';
import { OperationLedger } from './operation-ledger.service.js';
import { OperationsController } from './operations.controller.js';
import { RecentChanges } from './recent-changes.js';

/**
 * The change pipeline: how every change is recorded (ledger, revisions, idempotent replay, the
 * 409s), followed to its end (followers, re-attached at start) and read back (history).
 */
@Module({
  imports: [ClustersModule],
  providers: [ChangeStore, OperationLedger, OperationFollowers, OperationHistory, ChangePipeline, OperationEvents, RecentChanges],
  controllers: [OperationsController],
  exports: [ChangePipeline, OperationHistory, OperationEvents, ChangeStore, RecentChanges],
})
export class ChangesModule {}
