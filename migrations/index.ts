import { Foundation1764000000000 } from './1764000000000-Foundation';
import { Tracking1764000000100 } from './1764000000100-Tracking';
import { Conversions1764000000200 } from './1764000000200-Conversions';
import { Ledger1764000000300 } from './1764000000300-Ledger';
import { Postbacks1764000000400 } from './1764000000400-Postbacks';
import { Payouts1764000000500 } from './1764000000500-Payouts';
import { Reports1764000000600 } from './1764000000600-Reports';
import { Portal1764000000700 } from './1764000000700-Portal';
import { PostbackDeliveries1765500000000 } from './1765500000000-PostbackDeliveries';

/** Every migration, in order; listed here so the app, the CLI and the tests load the same set. */
export const MIGRATIONS = [Foundation1764000000000, Tracking1764000000100, Conversions1764000000200, Ledger1764000000300, Postbacks1764000000400, Payouts1764000000500, Reports1764000000600, Portal1764000000700, PostbackDeliveries1765500000000];
