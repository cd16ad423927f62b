import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { WorkloadPolicyModule } from '../policy/workload-policy.module.js';
import { ServicesController } from './services.controller.js';
import { ServicesService } from './services.service.js';

@Module({ imports: [AppsModule, WorkloadPolicyModule], providers: [ServicesService], controllers: [ServicesController], exports: [ServicesService] })
export class ServicesModule {}
