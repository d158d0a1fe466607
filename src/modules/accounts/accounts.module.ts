import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';
import { PostbackToken } from './postback-token.entity';
import { Principal } from './principal.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Principal, ApiKey, PostbackToken])],
  controllers: [AccountsController],
  providers: [AccountsService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [AccountsService],
})
export class AccountsModule {}
