import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsCurrencyCode, IsUuidString } from '../../../common/validation/validators';

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export class PeriodQueryDto {
  @ApiProperty({ example: '2026-10-01', description: 'first day, in the time zone' })
  @Matches(DAY, { message: 'from must be a day, YYYY-MM-DD' })
  from: string;

  @ApiProperty({ example: '2026-10-31', description: 'last day (included), in the time zone' })
  @Matches(DAY, { message: 'to must be a day, YYYY-MM-DD' })
  to: string;

  @ApiPropertyOptional({ example: 'Europe/Berlin', default: 'UTC', description: 'IANA time zone for the day boundaries' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  timezone?: string;
}

export class StatementQueryDto extends PeriodQueryDto {
  @ApiPropertyOptional({ description: 'required for finance and admin; an affiliate reads its own' })
  @IsOptional()
  @IsUuidString()
  affiliateId?: string;

  @ApiPropertyOptional({ enum: ['json', 'csv', 'pdf'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'csv', 'pdf'])
  format?: 'json' | 'csv' | 'pdf';

  @ApiPropertyOptional({ description: 'one currency only' })
  @IsOptional()
  @IsCurrencyCode()
  currency?: string;
}

export class SummaryQueryDto extends PeriodQueryDto {
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}
