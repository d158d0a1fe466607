import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxMessage } from './outbox.entity';
import { OutboxRelay } from './outbox.relay';
import { OutboxService } from './outbox.service';
import { OutboxRoute, OutboxRoutes } from './outbox.topics';

/** Registers a feature's outbox routes (the topics it consumes) when its module loads. */
@Module({})
class OutboxRoutesModule {}

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([OutboxMessage])],
  providers: [OutboxService, OutboxRelay, OutboxRoutes],
  exports: [OutboxService, OutboxRelay, OutboxRoutes],
})
export class OutboxModule {
  /** For the module of the feature that consumes these topics. */
  static forFeature(routes: Record<string, OutboxRoute>): DynamicModule {
    const token = Symbol(`outbox routes: ${Object.keys(routes).join(', ')}`);
    return {
      module: OutboxRoutesModule,
      providers: [{ provide: token, inject: [OutboxRoutes], useFactory: (registry: OutboxRoutes) => registry.register(routes) }],
    };
  }
}
