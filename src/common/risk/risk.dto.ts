import { ApiProperty } from '@nestjs/swagger';
import { RISK_CODES, RiskCode } from './risk';

export class RiskReasonView {
  @ApiProperty({ enum: RISK_CODES }) code: RiskCode;
  @ApiProperty({ example: 'AS14061 DigitalOcean, LLC' }) detail: string;
}

export class RiskView {
  @ApiProperty({ minimum: 0, maximum: 100 }) score: number;
  @ApiProperty({ type: [RiskReasonView] }) reasons: RiskReasonView[];
}
