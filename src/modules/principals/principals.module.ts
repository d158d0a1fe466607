import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { PrincipalsController } from './principals.controller';
import { PrincipalsService } from './principals.service';
import { PostbackToken } from './postback-token.entity';
import { Principal } from './principal.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Principal, ApiKey, PostbackToken])],
  controllers: [PrincipalsController],
  providers: [PrincipalsService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [PrincipalsService],
})
export class PrincipalsModule {}
