import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsCurrencyCode, IsUuidString } from '../../../common/validation/validators';
import { IsConversionTime } from '../conversion-time';
import { COUPON_CODE, CUSTOMER_ID, GOAL_KEY, TXN_ID } from './conversion.dto';

/**
 * The S2S postback's parameters (query string, form or JSON body). Unlike the JSON API,
 * unknown parameters are ignored: advertisers' platforms append cache busters and their own ids.
 */
export class PostbackParamsDto {
  @ApiPropertyOptional({ description: 'the advertiser postback token (or sign the request instead)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  token?: string;

  @ApiPropertyOptional({ description: 'with an HMAC signature: whose secret signed it' })
  @IsOptional()
  @IsUuidString()
  advertiser_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  click_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(COUPON_CODE, { message: 'coupon must be 1-64 letters, digits, _ or -' })
  coupon?: string;

  @ApiPropertyOptional({ example: 'sale' })
  @Matches(GOAL_KEY, { message: 'goal must be a goal key such as sale or lead' })
  goal: string;

  @ApiPropertyOptional({ example: 'ORDER-10042' })
  @Matches(TXN_ID, { message: 'txn_id must be 1-128 printable characters without spaces' })
  txn_id: string;

  @ApiPropertyOptional({ description: 'sale amount as a decimal string, e.g. 49.99', example: '49.99' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  amount?: string;

  @ApiPropertyOptional({ example: 'USD' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;

  @ApiPropertyOptional({
    description: 'when the conversion happened (ISO 8601 with a zone, or unix seconds); default: when the postback arrives. Counts for the attribution window and the caps',
    example: '2026-03-01T23:59:00-05:00',
  })
  @IsOptional()
  @IsConversionTime()
  conversion_time?: string;

  @ApiPropertyOptional({ description: "your id of the paying customer (up to 200 characters): a customer's later conversions can be found by it" })
  @IsOptional()
  @Matches(CUSTOMER_ID, { message: 'customer_id must be 1-200 printable characters' })
  customer_id?: string;

  @ApiPropertyOptional({ enum: ['reversed'], description: 'reversed: reverse the conversion this goal + txn_id recorded' })
  @IsOptional()
  @IsIn(['reversed'])
  status?: 'reversed';
}
