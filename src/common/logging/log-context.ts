import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every log line written inside a unit of work carries: the job's id and queue (README, "Logs"). */
export type LogContext = Record<string, string | number>;

export const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` added to every log line written inside it. */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...fields }, fn);
}
