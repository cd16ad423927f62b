import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { ChangesModule } from '../changes/changes.module.js';
import { ServicesModule } from '../services/services.module.js';
import { LifecycleResolver } from './lifecycle.resolver.js';

@Module({ imports: [AppsModule, ServicesModule, ChangesModule, JobsModule], providers: [LifecycleResolver] })
export class LifecycleGraphqlModule {}
