import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { SnakeNamingStrategy } from './snake-naming.strategy';

/** The entities are the application's list (src/entities.ts), handed down: this layer knows no feature. */
export type EntityList = NonNullable<DataSourceOptions['entities']>;

export function dataSourceOptions(url: string, poolSize: number, entities: EntityList): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    namingStrategy: new SnakeNamingStrategy(),
    extra: { max: poolSize, application_name: 'afflux' },
    logging: false,
  };
}
