import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination';
import { IsUuidString, TrimmedString } from '../../../common/validation/validators';
import { Channel, CHANNELS } from '../tracking-link.entity';
import { SubIdsInputDto, SubIdsView } from './sub-ids.dto';

export class CreateLinkDto extends SubIdsInputDto {
  @ApiProperty({ description: 'the offer to promote; the affiliate needs access to it' })
  @IsUuidString()
  offerId: string;

  @ApiPropertyOptional({ maxLength: 200, example: 'newsletter, June' })
  @IsOptional()
  @TrimmedString(200)
  label?: string;

  @ApiPropertyOptional({ enum: CHANNELS, default: 'other', description: 'where the traffic comes from, for side-by-side reports' })
  @IsOptional()
  @IsIn(CHANNELS as unknown as string[])
  channel?: Channel;
}

export class ScopeFiltersDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUuidString()
  offerId?: string;

  @ApiPropertyOptional({ description: 'advertisers and staff: one affiliate' })
  @IsOptional()
  @IsUuidString()
  affiliateId?: string;
}

export class ListLinksQueryDto extends IntersectionType(PageQueryDto, ScopeFiltersDto) {}

export class LinkView extends SubIdsView {
  @ApiProperty() id: string;
  @ApiProperty({ example: 'aB3dE5gH7j' }) code: string;
  @ApiProperty({ example: 'https://track.example/c/aB3dE5gH7j', description: 'the URL to share' }) url: string;
  @ApiProperty() offerId: string;
  @ApiProperty() affiliateId: string;
  @ApiPropertyOptional({ type: String, nullable: true }) label: string | null;
  @ApiProperty({ enum: CHANNELS }) channel: Channel;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ type: String, nullable: true }) archivedAt: string | null;
}
