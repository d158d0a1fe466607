import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { TrimmedString, MinorUnits, IsUuidString } from '../../../common/validation/validators';
import { PRINCIPAL_STATUSES, Principal, PrincipalStatus, Role, ROLES } from '../principal.entity';
import { ApiKey } from '../api-key.entity';

export class CreatePrincipalDto {
  @ApiProperty({ example: 'Acme Outdoor' })
  @TrimmedString(200)
  @MinLength(1)
  name: string;

  @ApiProperty({ example: 'partners@acme.example' })
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email: string;
}

export class SignupAffiliateDto extends CreatePrincipalDto {
  @ApiPropertyOptional({ description: 'where the traffic comes from, for the reviewer', maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  about?: string;
}

export class UpdateAffiliateDto {
  @ApiPropertyOptional({ enum: ['active', 'suspended', 'rejected'], description: '`rejected` turns a pending application away (only from `pending`)' })
  @IsOptional()
  @IsIn(['active', 'suspended', 'rejected'])
  status?: 'active' | 'suspended' | 'rejected';

  @ApiPropertyOptional({ description: 'with status `rejected`: why, kept in metadata.rejection for the record', maxLength: 500 })
  @IsOptional()
  @TrimmedString(500)
  rejectionReason?: string;

  @ApiPropertyOptional({ description: 'minimum payout in minor units; null restores the default', nullable: true })
  @IsOptional()
  @MinorUnits({ nullable: true })
  payoutThreshold?: number | null;

  @ApiPropertyOptional()
  @IsOptional()
  @TrimmedString(200)
  @MinLength(1)
  name?: string;
}

export class CreateApiKeyDto {
  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @TrimmedString(100)
  label?: string;

  @ApiPropertyOptional({ description: 'admin only: create the key for this principal' })
  @IsOptional()
  @IsUuidString()
  principalId?: string;
}

export class ListPrincipalsQueryDto {
  @ApiPropertyOptional({ enum: PRINCIPAL_STATUSES })
  @IsOptional()
  @IsIn(PRINCIPAL_STATUSES as unknown as string[])
  status?: PrincipalStatus;
}

export class PrincipalDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty() name: string;
  @ApiProperty() email: string;
  @ApiProperty({ enum: PRINCIPAL_STATUSES }) status: PrincipalStatus;
  @ApiPropertyOptional({ nullable: true, type: 'integer' }) payoutThreshold?: number | null;
  @ApiPropertyOptional({ enum: ['invoice', 'prepaid'], description: 'advertisers' }) billingMode?: 'invoice' | 'prepaid';
  @ApiPropertyOptional({ nullable: true, type: 'integer', description: 'advertisers (prepaid)' }) lowBalanceAlert?: number | null;
  @ApiProperty() createdAt: string;

  static from(p: Principal): PrincipalDto {
    return {
      id: p.id,
      role: p.role,
      name: p.name,
      email: p.email,
      status: p.status,
      ...(p.role === 'affiliate' ? { payoutThreshold: p.payoutThreshold } : {}),
      ...(p.role === 'advertiser' ? { billingMode: p.billingMode, lowBalanceAlert: p.lowBalanceAlert } : {}),
      createdAt: p.createdAt.toISOString(),
    };
  }
}

export class CreatedPrincipalDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: PRINCIPAL_STATUSES }) status: PrincipalStatus;
  @ApiProperty({ description: 'shown once; store it now' }) apiKey: string;
  @ApiPropertyOptional({ description: 'advertisers: the secret for S2S postbacks' }) postbackToken?: string;
}

export class ApiKeyDto {
  @ApiProperty() id: string;
  @ApiProperty() principalId: string;
  @ApiProperty({ description: 'the first characters, to tell keys apart' }) prefix: string;
  @ApiPropertyOptional({ nullable: true }) label: string | null;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true }) revokedAt: string | null;
  @ApiPropertyOptional({ nullable: true }) lastUsedAt: string | null;

  static from(k: ApiKey): ApiKeyDto {
    return {
      id: k.id,
      principalId: k.principalId,
      prefix: k.prefix,
      label: k.label,
      createdAt: k.createdAt.toISOString(),
      revokedAt: k.revokedAt?.toISOString() ?? null,
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'shown once; store it now' }) apiKey: string;
}

export class PostbackTokenDto {
  @ApiProperty() postbackToken: string;
  @ApiPropertyOptional({ nullable: true, description: 'when the previous token stops working' }) previousTokenExpiresAt: string | null;
}
