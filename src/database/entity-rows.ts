import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * Raw SQL for an entity's table, driven by TypeORM's metadata: rows to entities (column names to
 * properties, values hydrated as TypeORM would, transformers applied) and entities to INSERT
 * values. For hot paths where the query builder costs more than the query; the column lists are
 * worked out once.
 */
export interface EntityRows<T> {
  /** Every column the entity maps, quoted, for a SELECT or RETURNING list that later columns do not change. */
  columns: string;
  /** A result row (`SELECT *`, `RETURNING *`) as the entity TypeORM would have loaded; columns the entity does not map are ignored. */
  toEntity(row: Record<string, unknown>): T;
  /**
   * The columns and `$n` placeholders (numbered from `first`) of an INSERT of `values`, leaving out
   * the columns the database fills (generated ids, create and update dates), and the parameters.
   */
  insertValues(values: Partial<T>, first?: number): { columns: string; placeholders: string; params: unknown[] };
}

export function entityRows<T extends ObjectLiteral>(dataSource: DataSource, target: EntityTarget<T>): EntityRows<T> {
  const metadata = dataSource.getMetadata(target);
  const driver = dataSource.driver;
  const columns = metadata.columns.filter((c) => !c.isVirtual);
  const written = columns.filter((c) => !c.isGenerated && !c.isCreateDate && !c.isUpdateDate && !c.isVersion);
  const insertColumns = written.map((c) => driver.escape(c.databaseName)).join(', ');
  return {
    columns: columns.map((c) => driver.escape(c.databaseName)).join(', '),
    toEntity(row) {
      const entity = metadata.create(undefined, { fromDeserializer: true }) as T;
      for (const column of columns) {
        const value = row[column.databaseName];
        if (value !== undefined) column.setEntityValue(entity, driver.prepareHydratedValue(value, column));
      }
      return entity;
    },
    insertValues(values, first = 1) {
      return {
        columns: insertColumns,
        placeholders: written.map((_, i) => `$${first + i}`).join(', '),
        params: written.map((c: ColumnMetadata) => driver.preparePersistentValue(c.getEntityValue(values), c)),
      };
    },
  };
}
