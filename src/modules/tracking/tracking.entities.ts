/** The tracking feature's entities (links, clicks, coupons…), registered with the data source. */
export const TRACKING_ENTITIES: Function[] = [];
