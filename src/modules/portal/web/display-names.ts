import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * Names for the ids a page already shows (offers, principals), looked up in one query per page.
 * Display only: which rows a person may see was decided by the feature service that listed them.
 */
@Injectable()
export class DisplayNames {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  offers(ids: (string | null | undefined)[]): Promise<Map<string, string>> {
    return this.lookup('offers', ids);
  }

  principals(ids: (string | null | undefined)[]): Promise<Map<string, string>> {
    return this.lookup('principals', ids);
  }

  private async lookup(table: 'offers' | 'principals', ids: (string | null | undefined)[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter((id): id is string => !!id))];
    if (!wanted.length) return new Map();
    const rows: { id: string; name: string }[] = await this.dataSource.query(`SELECT id, name FROM ${table} WHERE id = ANY($1::uuid[])`, [wanted]);
    return new Map(rows.map((r) => [r.id, r.name]));
  }
}
