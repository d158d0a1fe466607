/** The reports feature's entities: none, its rollup tables are written and read with SQL only (rollup-sql.ts). */
export const REPORTS_ENTITIES: Function[] = [];
