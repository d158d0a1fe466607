import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Config } from '../config/configuration';
import { dataSourceOptions } from './data-source-options';
import { ReadDatabase } from './read-database';

/** The primary (TypeORM) and, for long reads, ReadDatabase. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Config, true>) => {
        const { url, poolSize } = config.get('database', { infer: true });
        // Migrations run before the app starts (prepareDatabase), never from here.
        return { ...dataSourceOptions(url, poolSize), migrationsRun: false };
      },
    }),
  ],
  providers: [ReadDatabase],
  exports: [ReadDatabase],
})
export class DatabaseModule {}
