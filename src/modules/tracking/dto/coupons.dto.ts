import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsUuidString } from '../../../common/validation/validators';
import { COUPON_STATUSES, CouponStatus } from '../coupon.entity';
import { ScopeFiltersDto } from './links.dto';

export class CreateCouponDto {
  @ApiProperty()
  @IsUuidString()
  offerId: string;

  @ApiPropertyOptional({ description: 'advertisers and admins: the affiliate the code belongs to (required); affiliates: themselves, or leave out' })
  @IsOptional()
  @IsUuidString()
  affiliateId?: string;

  @ApiProperty({ example: 'SUMMER-JANE', description: '3-32 letters, digits, _ or -; unique per advertiser, case-insensitive' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{3,32}$/, { message: 'code must be 3-32 letters, digits, _ or -' })
  code: string;
}

class CouponFiltersDto {
  @ApiPropertyOptional({ enum: COUPON_STATUSES })
  @IsOptional()
  @IsIn(COUPON_STATUSES as unknown as string[])
  status?: CouponStatus;
}

export class ListCouponsQueryDto extends IntersectionType(PageQueryDto, ScopeFiltersDto, CouponFiltersDto) {}

export class CouponView {
  @ApiProperty() id: string;
  @ApiProperty() code: string;
  @ApiProperty() offerId: string;
  @ApiProperty() advertiserId: string;
  @ApiProperty() affiliateId: string;
  @ApiProperty({ enum: COUPON_STATUSES, description: 'pending: an affiliate’s vanity request awaiting the advertiser' }) status: CouponStatus;
  @ApiProperty() requestedBy: string;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ type: String, nullable: true }) decidedAt: string | null;
}
