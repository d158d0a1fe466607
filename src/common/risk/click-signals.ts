import { isbot } from 'isbot';
import type { AsnTable } from './asn';
import { clip, Risk, riskOf, RiskReason } from './risk';

/** Clicks per hour beyond which one visitor IP (per affiliate) or one sub id (per link) is a flood. */
export interface FloodLimits {
  ipClicksPerHour: number;
  subClicksPerHour: number;
}
export const FLOOD_LIMITS: FloodLimits = { ipClicksPerHour: 20, subClicksPerHour: 500 };

/** What the click signals read of a click. */
export interface ClickSignalInput {
  affiliateId: string;
  linkId: string;
  ip: string | null;
  userAgent: string | null;
  sub1: string | null;
}

/** isbot's answers by user agent: its pattern costs 5–10 µs a browser's user agent, and clicks repeat user agents. */
const BOT_ANSWERS = new Map<string, boolean>();
const BOT_ANSWERS_MAX = 10_000;

/** A crawler, a script or a headless browser by its user agent (isbot's patterns); no user agent at all counts too. */
export function botUserAgent(userAgent: string | null): RiskReason | null {
  if (!userAgent) return { code: 'bot_user_agent', detail: 'no user agent' };
  let bot = BOT_ANSWERS.get(userAgent);
  if (bot === undefined) {
    if (BOT_ANSWERS.size >= BOT_ANSWERS_MAX) BOT_ANSWERS.clear();
    bot = isbot(userAgent);
    BOT_ANSWERS.set(userAgent, bot);
  }
  return bot ? { code: 'bot_user_agent', detail: `user agent "${clip(userAgent, 80)}"` } : null;
}

/** The IP belongs to a hosting or data-centre network: people browse from homes and phones, scripts from servers. */
export function datacenterIp(ip: string | null, table: AsnTable | null): RiskReason | null {
  const network = ip && table ? table.hosting(ip) : null;
  return network ? { code: 'datacenter_ip', detail: `AS${network.asn} ${network.name}` } : null;
}

export const ipFlood = (count: number, limits: FloodLimits = FLOOD_LIMITS): RiskReason | null =>
  count > limits.ipClicksPerHour ? { code: 'ip_flood', detail: `${count} clicks from one IP within an hour (more than ${limits.ipClicksPerHour})` } : null;

export const subFlood = (sub1: string, count: number, limits: FloodLimits = FLOOD_LIMITS): RiskReason | null =>
  count > limits.subClicksPerHour ? { code: 'sub_flood', detail: `${count} clicks on sub1 "${clip(sub1, 60)}" within an hour (more than ${limits.subClicksPerHour})` } : null;

/**
 * The risk of each click of a batch from what the batch alone tells: its user agent, its network,
 * and floods within the batch (an IP or a sub id over the hourly limit in one flush). Floods that
 * build up over many batches are added by the quality job. Pure and synchronous: the click
 * buffer calls it when it writes a batch, never on the redirect.
 */
export function scoreClickBatch(clicks: readonly ClickSignalInput[], table: AsnTable | null, limits: FloodLimits = FLOOD_LIMITS): Risk[] {
  const perIp = new Map<string, number>();
  const perSub = new Map<string, number>();
  const ipKey = (c: ClickSignalInput) => (c.ip ? `${c.affiliateId}|${c.ip}` : null);
  const subKey = (c: ClickSignalInput) => (c.sub1 ? `${c.linkId}|${c.sub1}` : null);
  for (const click of clicks) {
    const ip = ipKey(click);
    if (ip) perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    const sub = subKey(click);
    if (sub) perSub.set(sub, (perSub.get(sub) ?? 0) + 1);
  }
  return clicks.map((click) => {
    const ip = ipKey(click);
    const sub = subKey(click);
    return riskOf([
      ip ? ipFlood(perIp.get(ip) as number, limits) : null,
      sub ? subFlood(click.sub1 as string, perSub.get(sub) as number, limits) : null,
      botUserAgent(click.userAgent),
      datacenterIp(click.ip, table),
    ]);
  });
}
