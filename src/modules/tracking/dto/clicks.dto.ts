import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsISO8601, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsUuidString } from '../../../common/validation/validators';
import { CLICK_STATUSES, ClickStatus } from '../click.entity';
import { Channel, CHANNELS } from '../tracking-link.entity';
import { RiskView } from '../../../common/risk/risk.dto';
import { ScopeFiltersDto } from './links.dto';
import { SubIdsInputDto, SubIdsView } from './sub-ids.dto';

class ClickFiltersDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUuidString()
  linkId?: string;

  @ApiPropertyOptional({ description: 'ISO 8601; clicks at or after', example: '2025-01-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date' })
  from?: string;

  @ApiPropertyOptional({ description: 'ISO 8601; clicks before', example: '2025-02-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date' })
  to?: string;
}

export class ListClicksQueryDto extends IntersectionType(PageQueryDto, ScopeFiltersDto, ClickFiltersDto, SubIdsInputDto) {}

export class ClickView extends SubIdsView {
  @ApiProperty({ description: 'the signed click id' }) id: string;
  @ApiProperty() clickedAt: string;
  @ApiProperty() linkId: string;
  @ApiProperty() offerId: string;
  @ApiProperty() affiliateId: string;
  @ApiProperty({ enum: CHANNELS }) channel: Channel;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'admins: the full address; others: its network (/24, /48)' }) ip: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) userAgent: string | null;
  @ApiPropertyOptional({ type: String, nullable: true }) referrer: string | null;
  @ApiProperty({ description: 'first click of this IP and user agent on this link within 24 h' }) unique: boolean;
  @ApiProperty({ enum: CLICK_STATUSES, description: 'ok, or why the click went to the fallback URL (or got a 410)' }) status: ClickStatus;
  @ApiPropertyOptional({ type: RiskView, nullable: true, description: 'score 0–100 with its reasons (README, "Traffic quality"); null for clicks written before scoring' })
  risk: RiskView | null;
}
