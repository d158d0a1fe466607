import { Adjustment } from './adjustment.entity';
import { JournalEntry } from './journal-entry.entity';
import { JournalLine } from './journal-line.entity';
import { LedgerAccount } from './ledger-account.entity';

/** The ledger's entities, registered with the data source. */
export const LEDGER_ENTITIES: Function[] = [LedgerAccount, JournalEntry, JournalLine, Adjustment];
