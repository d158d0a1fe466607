import { AppError, ValidationError } from '../../../common/errors';
import { validateDto } from '../../../common/validation/validation.pipe';

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
export function toDto<T extends object>(cls: new () => T, plain: object): Promise<T> {
  return validateDto(cls, plain, { forbidUnknown: true });
}

const PHRASES: [RegExp, (...groups: string[]) => string][] = [
  [/^(is required|should not be empty|must be longer than or equal to 1 characters?)$/, () => 'Required.'],
  [/^must be longer than or equal to (\d+) characters$/, (n) => `At least ${n} characters.`],
  [/^must be shorter than or equal to (\d+) characters$/, (n) => `At most ${n} characters.`],
  [/^must not be less than (-?\d+)$/, (n) => `At least ${n}.`],
  [/^must not be greater than (-?\d+)$/, (n) => `At most ${n}.`],
  [/^must be an integer number$/, () => 'A whole number, such as 30.'],
  [/^must be a positive number$/, () => 'A number above 0.'],
  [/^must be a URL address$|^must be an? (absolute )?(http|https|web).*URL/i, () => 'A full web address, such as https://shop.example/landing.'],
  [/^must be an email( address)?$/, () => 'An email address, such as name@example.com.'],
  [/^must be one of the following values: (.*)$/, (list) => `Choose one of: ${list}.`],
  [/^must be a (valid )?(ISO 4217 )?currency( code)?.*$/i, () => 'A currency such as USD or EUR.'],
];

/**
 * A validation message in words for the person at the form, under the field it is about:
 * "name must be longer than or equal to 1 characters" → "Required.".
 */
export function humanMessage(field: string, message: string): string {
  const last = field.split('.').pop() ?? field;
  let text = message.trim();
  for (const prefix of [`${field} `, `${last} `, `${field}: `, `${last}: `]) if (text.startsWith(prefix)) text = text.slice(prefix.length);
  for (const [pattern, say] of PHRASES) {
    const match = pattern.exec(text);
    if (match) return say(...match.slice(1));
  }
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Every field check of a form at once (each a message or null): throws one ValidationError listing all that failed. */
export function checkFields(checks: Record<string, string | null | undefined | false>): void {
  const details = Object.entries(checks)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
    .map(([field, message]) => ({ field, message }));
  if (details.length) throw new ValidationError(details, details.map((d) => `${d.field} ${d.message}`).join('; '));
}

/** The problem a person can fix (a 4xx with or without field details); null for anything else. */
export function formProblem(error: unknown): FormProblem | null {
  if (!(error instanceof AppError) || error.status >= 500 || error.status === 404) return null;
  const fields: FieldErrors = {};
  for (const detail of error.details) if (detail.field && !fields[detail.field]) fields[detail.field] = humanMessage(detail.field, detail.message);
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
