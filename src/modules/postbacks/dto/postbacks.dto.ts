import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, MaxLength, registerDecorator } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsUuidString } from '../../../common/validation/validators';
import { validateUrlTemplate } from '../../offers/url-template';
import { POSTBACK_OUTCOMES, PostbackOutcome } from '../postback-attempt.entity';
import { POSTBACK_MACROS } from '../postback-macros';

function IsPostbackTemplate(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPostbackTemplate',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && validateUrlTemplate(value, POSTBACK_MACROS) === null,
        defaultMessage: (args) => `${args?.property} ${typeof args?.value === 'string' ? validateUrlTemplate(args.value, POSTBACK_MACROS) : 'must be a URL'}`,
      },
    });
}

export class PutPostbackSettingDto {
  @ApiProperty({
    example: 'https://tracker.example/pb?cid={click_id}&payout={payout}&cur={currency}&status={status}',
    description: `macros: ${POSTBACK_MACROS.map((m) => `{${m}}`).join(' ')}`,
  })
  @MaxLength(2000)
  @IsPostbackTemplate()
  urlTemplate: string;

  @ApiPropertyOptional({ description: 'only for this offer (overrides the general URL)' })
  @IsOptional()
  @IsUuidString()
  offerId?: string;
}

export class PostbackScopeDto {
  @ApiPropertyOptional({ description: 'the offer-specific setting; absent: the general one' })
  @IsOptional()
  @IsUuidString()
  offerId?: string;
}

export class ListAttemptsQueryDto extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUuidString() conversionId?: string;
  @ApiPropertyOptional({ description: 'admin only' }) @IsOptional() @IsUuidString() affiliateId?: string;
}

export class PostbackSettingView {
  @ApiProperty() id: string;
  @ApiPropertyOptional({ nullable: true }) offerId: string | null;
  @ApiProperty() urlTemplate: string;
  @ApiProperty() updatedAt: string;
}

export class PostbackAttemptView {
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
    enum: POSTBACK_OUTCOMES,
    description: 'delivered; failed (retried); not sent: superseded by a newer status, already_delivered, deferred behind an earlier postback (retried)',
  })
  outcome: PostbackOutcome;
  @ApiProperty() createdAt: string;
}
