import { Click } from './click.entity';
import { Coupon } from './coupon.entity';
import { TrackingLink } from './tracking-link.entity';

/** The tracking feature's entities (links, clicks, coupons), registered with the data source. */
export const TRACKING_ENTITIES: Function[] = [TrackingLink, Click, Coupon];
