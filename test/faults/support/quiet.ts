import { Logger } from '@nestjs/common';

// Services used directly in the test process (seeding through LedgerService) would log every posting.
Logger.overrideLogger(['error', 'warn']);
