/** The ledger's entities, registered with the data source. */
export const LEDGER_ENTITIES: Function[] = [];
