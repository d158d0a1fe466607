import { ValidationError } from '../../common/errors';
import { isCurrency } from '../../common/money';
import { validateDto } from '../../common/validation/validation.pipe';
import { UUID_PATTERN } from '../../common/validation/validators';
import { parseConversionTime } from './conversion-time';
import { COUPON_CODE, CUSTOMER_ID, GOAL_KEY, TXN_ID } from './dto/conversion.dto';
import { PostbackParamsDto } from './dto/postback.dto';

/**
 * The postback's parameters, read by hand: every postback passes here, and class-transformer
 * plus class-validator cost more than the rest of the request's parsing. The hand-written checks
 * only ever ACCEPT: a value they are not sure of (not a string, failing a rule, or too long by
 * UTF-16 length where class-validator counts surrogate pairs as one) sends the whole request
 * through `PostbackParamsDto` and class-validator, which then answers the same 400 (same
 * details, same order) as before. So the errors are class-validator's by construction; the
 * tests hold the two paths to the same verdict on the same input.
 */
export async function parsePostback(raw: Record<string, unknown>): Promise<PostbackParamsDto> {
  // A parameter given twice arrives as an array: refuse it rather than guess.
  let repeated: string[] | null = null;
  for (const key of Object.keys(raw)) if (Array.isArray(raw[key])) (repeated ??= []).push(key);
  if (repeated) throw new ValidationError(repeated.map((field) => ({ field, message: `${field} is given more than once` })));
  return readPostbackParams(raw) ?? validatePostback(raw);
}

/** The DTO and class-validator: the reference, and the source of every error answer. */
export function validatePostback(raw: Record<string, unknown>): Promise<PostbackParamsDto> {
  return validateDto(PostbackParamsDto, raw, { forbidUnknown: false });
}

type Check = (value: string) => boolean;

const maxLength =
  (max: number): Check =>
  (value) =>
    value.length <= max;
const matches =
  (pattern: RegExp): Check =>
  (value) =>
    pattern.test(value);

/**
 * The rules of PostbackParamsDto for string values (what a query string or a form carries);
 * `required` for the two without @IsOptional. Unknown parameters are dropped, as the DTO's
 * whitelist drops them.
 */
const RULES: readonly { key: keyof PostbackParamsDto; required: boolean; check: Check }[] = [
  { key: 'token', required: false, check: maxLength(200) },
  { key: 'advertiser_id', required: false, check: matches(UUID_PATTERN) },
  { key: 'click_id', required: false, check: maxLength(256) },
  { key: 'coupon', required: false, check: matches(COUPON_CODE) },
  { key: 'goal', required: true, check: matches(GOAL_KEY) },
  { key: 'txn_id', required: true, check: matches(TXN_ID) },
  { key: 'amount', required: false, check: maxLength(40) },
  { key: 'currency', required: false, check: isCurrency },
  { key: 'conversion_time', required: false, check: (value) => parseConversionTime(value) !== null },
  { key: 'customer_id', required: false, check: matches(CUSTOMER_ID) },
  { key: 'status', required: false, check: (value) => value === 'reversed' },
];

/** The parameters when every one is certainly valid, else null (class-validator decides and words the error). */
export function readPostbackParams(raw: Record<string, unknown>): PostbackParamsDto | null {
  const params: Record<string, string> = {};
  for (const rule of RULES) {
    const value = Object.hasOwn(raw, rule.key) ? raw[rule.key] : undefined;
    // @IsOptional skips an absent value (and null, which the DTO would keep: left to it).
    if (value === undefined) {
      if (rule.required) return null;
      continue;
    }
    if (typeof value !== 'string' || !rule.check(value)) return null;
    params[rule.key] = value;
  }
  // IsUuidString lower-cases an id on the way in.
  if (params.advertiser_id !== undefined) params.advertiser_id = params.advertiser_id.toLowerCase();
  return params as unknown as PostbackParamsDto;
}
