import { Bonus, BonusAward } from './bonus.entities';
import { AdvertiserFunding, FundingAlert } from './funding.entities';

export const PROGRAMS_ENTITIES = [Bonus, BonusAward, AdvertiserFunding, FundingAlert];
