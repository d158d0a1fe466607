import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PrincipalsModule } from '../principals/principals.module';
import { BoardSessions, loadOrCreateSetting } from './board-sessions';
import { OperationsController } from './operations.controller';

/** The operators' side: the admin-only queue dashboard and its sign-in. */
@Module({
  imports: [PrincipalsModule],
  controllers: [OperationsController],
  providers: [
    {
      provide: BoardSessions,
      inject: [getDataSourceToken()],
      useFactory: async (dataSource: DataSource) => new BoardSessions(await loadOrCreateSetting(dataSource, 'board_session_secret')),
    },
  ],
  exports: [BoardSessions],
})
export class OperationsModule {}
