import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { OperationsModule } from '../operations/operations.module.js';
import { ServicesModule } from '../services/services.module.js';
import { LifecycleResolver } from './lifecycle.resolver.js';

@Module({ imports: [AppsModule, ServicesModule, OperationsModule, JobsModule], providers: [LifecycleResolver] })
export class LifecycleGraphqlModule {}
