import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '../../queue/outbox/outbox.module';
import { WEBHOOK_ENTITIES } from './webhook.entities';
import { WebhookRetention } from './webhook-retention';
import { WebhooksController } from './webhooks.controller';
import { WEBHOOKS_ROUTES, WebhooksJobs } from './webhooks.jobs';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [TypeOrmModule.forFeature(WEBHOOK_ENTITIES), OutboxModule.forFeature(WEBHOOKS_ROUTES)],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhooksJobs, WebhookRetention],
  exports: [WebhooksService],
})
export class WebhooksModule {}
