import { Column, ColumnOptions, CreateDateColumn } from 'typeorm';

/** PostgreSQL bigint comes back as a string; minor units fit a JS safe integer by construction. */
export const bigintToNumber = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null || value === undefined ? value : Number(value)),
};

export function MoneyColumn(options: ColumnOptions = {}): PropertyDecorator {
  return Column({ type: 'bigint', transformer: bigintToNumber, ...options });
}

export function CreatedAtColumn(): PropertyDecorator {
  return CreateDateColumn({ type: 'timestamptz' });
}
