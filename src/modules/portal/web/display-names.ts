import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { principalsRepository } from '../../principals/principals.repository';
import { offersRepository } from '../../offers/offers.repository';

/**
 * Names for the ids a page already shows (offers, principals), asked of their owners in one query per page.
 * Display only: which rows a person may see was decided by the feature service that listed them.
 */
@Injectable()
export class DisplayNames {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  offers(ids: (string | null | undefined)[]): Promise<Map<string, string>> {
    return this.lookup(ids, (manager, wanted) => offersRepository.names(manager, wanted));
  }

  principals(ids: (string | null | undefined)[]): Promise<Map<string, string>> {
    return this.lookup(ids, (manager, wanted) => principalsRepository.names(manager, wanted));
  }

  private async lookup(ids: (string | null | undefined)[], names: (manager: EntityManager, ids: string[]) => Promise<Map<string, string>>): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter((id): id is string => !!id))];
    if (!wanted.length) return new Map();
    return names(this.dataSource.manager, wanted);
  }
}
