import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Config } from '../config/configuration';
import { dataSourceOptions, EntityList } from './data-source-options';
import { ReadDatabase } from './read-database';

/** The primary (TypeORM) and, for long reads, ReadDatabase. */
@Global()
@Module({})
export class DatabaseModule {
  /** `entities`: the application's list (src/entities.ts). */
  static forRoot(entities: EntityList): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<Config, true>) => {
            const { url, poolSize } = config.get('database', { infer: true });
            // Migrations run before the app starts (prepareDatabase), never from here.
            return { ...dataSourceOptions(url, poolSize, entities), migrationsRun: false };
          },
        }),
      ],
      providers: [ReadDatabase],
      exports: [ReadDatabase],
    };
  }
}
