import { Module } from '@nestjs/common';
import { ComposeController } from './compose.controller.js';
import { ComposeResolver } from './compose.resolver.js';
import { ComposeService } from './compose.service.js';

@Module({ providers: [ComposeService, ComposeResolver], controllers: [ComposeController], exports: [ComposeService] })
export class ComposeModule {}
