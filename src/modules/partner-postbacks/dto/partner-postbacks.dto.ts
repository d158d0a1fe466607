import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsOptional, MaxLength, registerDecorator } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsUuidString } from '../../../common/validation/validators';
import { validateUrlTemplate } from '../../offers/url-template';
import { PARTNER_POSTBACK_OUTCOMES, PartnerPostbackOutcome } from '../partner-postback-attempt.entity';
import { PARTNER_POSTBACK_MACROS } from '../partner-postback-macros';

function IsPartnerPostbackTemplate(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPostbackTemplate',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && validateUrlTemplate(value, PARTNER_POSTBACK_MACROS) === null,
        defaultMessage: (args) => `${args?.property} ${typeof args?.value === 'string' ? validateUrlTemplate(args.value, PARTNER_POSTBACK_MACROS) : 'must be a URL'}`,
      },
    });
}

// The OpenAPI schema keeps its name from before the rename (the HTTP API is unchanged).
@ApiSchema({ name: 'PutPostbackSettingDto' })
export class PutPartnerPostbackSettingDto {
  @ApiProperty({
    example: 'https://tracker.example/pb?cid={click_id}&payout={payout}&cur={currency}&status={status}',
    description: `macros: ${PARTNER_POSTBACK_MACROS.map((m) => `{${m}}`).join(' ')}`,
  })
  @MaxLength(2000)
  @IsPartnerPostbackTemplate()
  urlTemplate: string;

  @ApiPropertyOptional({ description: 'only for this offer (overrides the general URL)' })
  @IsOptional()
  @IsUuidString()
  offerId?: string;
}

// The OpenAPI schema keeps its name from before the rename (the HTTP API is unchanged).
@ApiSchema({ name: 'PostbackScopeDto' })
export class PartnerPostbackScopeDto {
  @ApiPropertyOptional({ description: 'the offer-specific setting; absent: the general one' })
  @IsOptional()
  @IsUuidString()
  offerId?: string;
}

export class ListAttemptsQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUuidString() conversionId?: string;
  @ApiPropertyOptional({ description: 'admin only' }) @IsOptional() @IsUuidString() affiliateId?: string;
}

// The OpenAPI schema keeps its name from before the rename (the HTTP API is unchanged).
@ApiSchema({ name: 'PostbackSettingView' })
export class PartnerPostbackSettingView {
  @ApiProperty() id: string;
  @ApiPropertyOptional({ nullable: true }) offerId: string | null;
  @ApiProperty() urlTemplate: string;
  @ApiProperty() updatedAt: string;
}

// The OpenAPI schema keeps its name from before the rename (the HTTP API is unchanged).
@ApiSchema({ name: 'PostbackAttemptView' })
export class PartnerPostbackAttemptView {
  @ApiProperty() id: string;
  @ApiPropertyOptional({ nullable: true }) conversionId: string | null;
  @ApiProperty() isTest: boolean;
  @ApiProperty() attempt: number;
  @ApiProperty() url: string;
  @ApiPropertyOptional({ nullable: true }) statusCode: number | null;
  @ApiProperty() latencyMs: number;
  @ApiPropertyOptional({ nullable: true }) error: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'always null: the answer is not kept' }) responseExcerpt: null;
  @ApiProperty({
    enum: PARTNER_POSTBACK_OUTCOMES,
    description: 'delivered; failed (retried); not sent: superseded by a newer status, already_delivered, deferred behind an earlier postback (retried)',
  })
  outcome: PartnerPostbackOutcome;
  @ApiProperty() createdAt: string;
}
