import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsUuidString, UUID_PATTERN } from '../../../common/validation/validators';
import { APPEAL_STATUSES, AppealStatus } from '../appeal.entity';

export const APPEAL_MESSAGE_MAX = 2000;
const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateAppealDto {
  @ApiProperty({ maxLength: APPEAL_MESSAGE_MAX, example: 'These are real customers from our newsletter; order ids attached.' })
  @Transform(trimmed)
  @IsString()
  @MinLength(1)
  @MaxLength(APPEAL_MESSAGE_MAX)
  message: string;
}

export const APPEAL_DECISIONS = ['approve', 'reject'] as const;
export type AppealDecision = (typeof APPEAL_DECISIONS)[number];

export class ResolveAppealDto extends CreateAppealDto {
  @ApiProperty({ enum: APPEAL_DECISIONS })
  @IsIn(APPEAL_DECISIONS as unknown as string[])
  decision: AppealDecision;
}

export class AppealView {
  @ApiProperty() id: string;
  @ApiProperty() conversionId: string;
  @ApiProperty({ enum: APPEAL_STATUSES }) status: AppealStatus;
  @ApiProperty() message: string;
  @ApiPropertyOptional({ nullable: true }) resolution: string | null;
  @ApiPropertyOptional({ nullable: true }) resolvedAt: string | null;
  @ApiProperty() createdAt: string;
}

export class DecideHeldDto {
  @ApiProperty({ type: [String], description: 'held conversions to decide, 1–200' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(200)
  @Matches(UUID_PATTERN, { each: true, message: 'each of ids must be an id' })
  ids: string[];

  @ApiProperty({ enum: APPEAL_DECISIONS })
  @IsIn(APPEAL_DECISIONS as unknown as string[])
  decision: AppealDecision;

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  message?: string;
}

export class DecisionResultView {
  @ApiProperty() id: string;
  @ApiPropertyOptional() status?: string;
  @ApiPropertyOptional({ description: 'why this one was not decided: conversion_not_found, invalid_transition' }) error?: string;
}

export const QUALITY_DIMENSIONS = ['affiliate', 'offer', 'sub1', 'channel', 'country', 'day'] as const;
export type QualityDimension = (typeof QUALITY_DIMENSIONS)[number];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class QualityReportQueryDto {
  @ApiPropertyOptional({ description: `comma-separated: ${QUALITY_DIMENSIONS.join(', ')}`, example: 'affiliate,sub1' })
  @IsOptional()
  @Transform(({ value }) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean)
      : value,
  )
  @IsArray()
  @ArrayMaxSize(6)
  @IsIn(QUALITY_DIMENSIONS as unknown as string[], { each: true })
  groupBy?: QualityDimension[];

  @ApiProperty({ example: '2026-12-01', description: 'first UTC day' }) @Matches(DAY, { message: 'from must be a day, YYYY-MM-DD' }) from: string;
  @ApiProperty({ example: '2026-12-31', description: 'last UTC day, inclusive' }) @Matches(DAY, { message: 'to must be a day, YYYY-MM-DD' }) to: string;
  @ApiPropertyOptional() @IsOptional() @IsUuidString() offerId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUuidString() affiliateId?: string;
}

export class QualityRowView {
  @ApiPropertyOptional({ nullable: true }) affiliateId?: string | null;
  @ApiPropertyOptional({ nullable: true }) offerId?: string | null;
  @ApiPropertyOptional({ nullable: true }) sub1?: string | null;
  @ApiPropertyOptional({ nullable: true }) channel?: string | null;
  @ApiPropertyOptional({ nullable: true }) country?: string | null;
  @ApiPropertyOptional({ description: 'UTC day, YYYY-MM-DD' }) day?: string;
  @ApiProperty() clicks: number;
  @ApiProperty() conversions: number;
  @ApiProperty({ description: 'pending conversions held for review' }) held: number;
  @ApiProperty({ description: 'conversions rejected for their risk score' }) rejected: number;
  @ApiProperty({ description: 'reason code → how many clicks and conversions of the group carry it', example: { ip_flood: 12, datacenter_ip: 30 } })
  reasons: Record<string, number>;
}

export class QualityReportView {
  @ApiProperty({ type: [QualityRowView] }) data: QualityRowView[];
}
