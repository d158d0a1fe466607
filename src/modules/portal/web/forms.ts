import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppError, ValidationError } from '../../../common/errors';
import { flattenValidationErrors } from '../../../common/validation/validation.pipe';

export type FieldErrors = Record<string, string>;

/** What went wrong with a submitted form: messages by field name, and one for the whole form. */
export interface FormProblem {
  fields: FieldErrors;
  message: string;
}

/**
 * Validates a plain object against the API's own request DTO, so a form and the JSON API refuse
 * the same input with the same messages. Throws the ValidationError the API would answer.
 */
export async function toDto<T extends object>(cls: new () => T, plain: object): Promise<T> {
  const dto = plainToInstance(cls, plain);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true, validationError: { target: false, value: false } });
  if (errors.length) {
    const details = flattenValidationErrors(errors);
    throw new ValidationError(details, details.map((d) => d.message).join('; '));
  }
  return dto;
}

/** The problem a person can fix (a 4xx with or without field details); null for anything else. */
export function formProblem(error: unknown): FormProblem | null {
  if (!(error instanceof AppError) || error.status >= 500 || error.status === 404) return null;
  const fields: FieldErrors = {};
  for (const detail of error.details) if (detail.field && !fields[detail.field]) fields[detail.field] = detail.message;
  return { fields, message: Object.keys(fields).length ? 'Please correct the marked fields.' : error.message };
}

/** Runs a form's work; answers the problem to show with the form, or null when it went through. */
export async function tryForm(work: () => Promise<unknown>): Promise<FormProblem | null> {
  try {
    await work();
    return null;
  } catch (error) {
    const problem = formProblem(error);
    if (!problem) throw error;
    return problem;
  }
}

/** The message for an input: its own, or one about a nested part of it (`goals.0.payout.amount` marks `goals.0.payout`). */
export function errorFor(fields: FieldErrors | undefined, name: string): string | undefined {
  if (!fields) return undefined;
  if (fields[name]) return fields[name];
  const nested = Object.keys(fields).find((key) => key.startsWith(`${name}.`));
  return nested ? fields[nested] : undefined;
}

/** A form field as a trimmed string ('' when absent or repeated). */
export function str(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value.trim() : '';
}

/** An optional form field: undefined when left empty. */
export function opt(body: Record<string, unknown>, name: string): string | undefined {
  return str(body, name) || undefined;
}

/** A whole number typed into a form; the string itself when it is not one, so the DTO names the field. */
export function int(body: Record<string, unknown>, name: string): number | string | undefined {
  const value = str(body, name);
  if (!value) return undefined;
  return /^-?\d{1,15}$/.test(value) ? Number(value) : value;
}
