import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { logContext } from './log-context';
import { censor, REDACT_PATHS, scrubSecrets } from './redact';

/**
 * Nest's logger on pino: one JSON line per message, secrets redacted by field (see redact.ts),
 * and every line passed once more over for key and token shapes, whatever field or message
 * they hid in.
 */
export class PinoLoggerService implements LoggerService {
  readonly pino: Logger;

  constructor(level: string, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })) {
    const scrubbed: pino.DestinationStream = { write: (line: string) => destination.write(scrubSecrets(line)) };
    this.pino = pino(
      { level, base: { pid: process.pid }, mixin: () => logContext.getStore() ?? {}, redact: { paths: REDACT_PATHS, censor }, timestamp: pino.stdTimeFunctions.isoTime },
      scrubbed,
    );
  }

  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]) {
    if (!this.pino.isLevelEnabled(level)) return;
    // Nest passes the context (class name) last; an error's stack comes before it.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const stack = typeof rest[0] === 'string' && rest[0].includes('\n    at ') ? (rest.shift() as string) : undefined;
    if (message instanceof Error) {
      this.pino[level]({ context, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      const { msg, ...fields } = message as Record<string, unknown>;
      this.pino[level]({ context, ...fields, ...(stack ? { stack } : {}) }, typeof msg === 'string' ? msg : (rest.find((r) => typeof r === 'string') as string | undefined));
    } else {
      this.pino[level]({ context, ...(stack ? { stack } : {}) }, String(message));
    }
  }
}
