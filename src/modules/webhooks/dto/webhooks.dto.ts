import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsIn, IsUrl, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_OUTCOMES, WebhookEventType, WebhookOutcome } from '../webhook.entities';

export class CreateWebhookEndpointDto {
  @ApiProperty({ example: 'https://hooks.example/afflux' })
  @MaxLength(2000)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'url must be an http or https URL' })
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, description: 'only the types that concern your role' })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each value in events must be one of: ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  events: WebhookEventType[];
}

export class ListWebhookDeliveriesQueryDto extends PageQueryDto {}

export class WebhookEndpointView {
  @ApiProperty() id: string;
  @ApiProperty() url: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true }) events: WebhookEventType[];
  @ApiPropertyOptional({ description: 'the signing secret: only in the answer to the creation' }) secret?: string;
  @ApiProperty() createdAt: string;
}

export class WebhookDeliveryView {
  @ApiProperty() id: string;
  @ApiProperty({ description: 'the event id (the body’s id): the same on every attempt' }) eventId: string;
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES }) eventType: WebhookEventType;
  @ApiProperty() attempt: number;
  @ApiPropertyOptional({ nullable: true }) statusCode: number | null;
  @ApiProperty() latencyMs: number;
  @ApiPropertyOptional({ nullable: true }) error: string | null;
  @ApiProperty({ enum: WEBHOOK_OUTCOMES, description: 'delivered; failed (retried); gave_up (the last try, a day after the event); endpoint_deleted' })
  outcome: WebhookOutcome;
  @ApiProperty() createdAt: string;
}
