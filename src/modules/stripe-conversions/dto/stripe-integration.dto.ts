import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsUuidString } from '../../../common/validation/validators';

export class PutStripeIntegrationDto {
  @ApiProperty({ description: 'your offer whose sales come from this Stripe account' })
  @IsUuidString()
  offerId: string;

  @ApiProperty({ example: 'sale', description: 'the goal of that offer each sale converts on' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  goal: string;

  @ApiProperty({ example: 'whsec_…', description: "the signing secret of the endpoint you add in Stripe's dashboard (Developers → Webhooks)" })
  @IsString()
  @MaxLength(200)
  @Matches(/^whsec_[A-Za-z0-9+/=_-]{8,}$/, { message: 'webhookSecret must be a Stripe webhook signing secret (whsec_…)' })
  webhookSecret: string;

  @ApiPropertyOptional({
    example: 'rk_live_…',
    description:
      "a restricted key of your Stripe account with read access to promotion codes: Stripe's events name a promotion code by its id, the key turns it into the code your affiliates' coupons are matched with",
  })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  @Matches(/^(rk|sk)_(test|live)_[A-Za-z0-9]{4,}$/, { message: 'apiKey must be a Stripe secret or restricted key (rk_… or sk_…)' })
  apiKey?: string;
}

export class StripeIntegrationView {
  @ApiProperty({ description: 'paste it as the endpoint URL in your Stripe account' }) endpointUrl: string;
  @ApiProperty() offerId: string;
  @ApiProperty() goal: string;
  @ApiProperty({ description: 'the events to enable on that endpoint', isArray: true, type: String }) events: string[];
  @ApiProperty({ description: 'whether a key to read promotion codes is stored (the key itself is never shown)' }) promotionCodesReadable: boolean;
  @ApiProperty() updatedAt: string;
}
