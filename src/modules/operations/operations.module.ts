import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { BoardSessions, loadOrCreateSetting } from './board-sessions';
import { OperationsController } from './operations.controller';

/** The operators' side: the admin-only queue dashboard and its sign-in. */
@Module({
  imports: [AccountsModule],
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
