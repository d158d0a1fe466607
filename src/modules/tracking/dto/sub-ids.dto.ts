import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export const SUB_ID_MAX_LENGTH = 255;

function SubIdInput(description: string): PropertyDecorator {
  return applyDecorators(ApiPropertyOptional({ maxLength: SUB_ID_MAX_LENGTH, description }), IsOptional(), IsString(), MaxLength(SUB_ID_MAX_LENGTH));
}

/** sub1…sub5 as input: a link's defaults, or a list filter (exact match). */
export class SubIdsInputDto {
  @SubIdInput('sub id 1') sub1?: string;
  @SubIdInput('sub id 2') sub2?: string;
  @SubIdInput('sub id 3') sub3?: string;
  @SubIdInput('sub id 4') sub4?: string;
  @SubIdInput('sub id 5') sub5?: string;
}

const SubIdOutput = () => ApiPropertyOptional({ type: String, nullable: true });

export class SubIdsView {
  @SubIdOutput() sub1: string | null;
  @SubIdOutput() sub2: string | null;
  @SubIdOutput() sub3: string | null;
  @SubIdOutput() sub4: string | null;
  @SubIdOutput() sub5: string | null;
}
