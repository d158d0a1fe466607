/** The portal feature's entities, registered with the data source. */
export const PORTAL_ENTITIES: Function[] = [];
