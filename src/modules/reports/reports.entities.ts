/** The reports feature's entities, registered with the data source. */
export const REPORTS_ENTITIES: Function[] = [];
