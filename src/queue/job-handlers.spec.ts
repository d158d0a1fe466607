import { Injectable, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test, TestingModule } from '@nestjs/testing';
import { JobHandlers } from './job-handlers';
import { OnJob } from './on-job';
import { OutboxRoutes } from './outbox/outbox.topics';
import { JOBS, JobName, QUEUES, QueueName } from './queues';

/** A feature class handling `jobs` (queue/name pairs), as a feature marks its methods. */
function feature(jobs: [QueueName, JobName][]): Type {
  @Injectable()
  class Feature {}
  jobs.forEach(([queue, name], i) => {
    const method = `job${i}`;
    Object.defineProperty(Feature.prototype, method, { value: async () => name, writable: true, configurable: true });
    OnJob({ queue, name })(Feature.prototype, method, Object.getOwnPropertyDescriptor(Feature.prototype, method)!);
  });
  return Feature;
}

const EVERY_JOB: [QueueName, JobName][] = Object.values(JOBS).map((name) => [
  name === JOBS.approveDue || name === JOBS.sweep || name === JOBS.qualityCheck ? QUEUES.maintenance : QUEUES.commissions,
  name,
]);

const booted: TestingModule[] = [];

async function boot(features: Type[], routes: Record<string, { queue: QueueName; job: JobName }> = {}): Promise<JobHandlers> {
  const module = await Test.createTestingModule({ imports: [DiscoveryModule], providers: [JobHandlers, OutboxRoutes, ...features] }).compile();
  booted.push(module);
  module.get(OutboxRoutes).register(Object.fromEntries(Object.entries(routes).map(([topic, r]) => [topic, { ...r, jobId: (id: string) => id }])));
  await module.init();
  return module.get(JobHandlers);
}

describe('JobHandlers (the start-up check of the @OnJob handlers)', () => {
  afterEach(async () => {
    await Promise.all(booted.splice(0).map((module) => module.close()));
  });

  it('finds the handlers of the features and dispatches to them', async () => {
    const handlers = await boot([feature(EVERY_JOB)]);
    await expect(handlers.dispatch(QUEUES.commissions, { name: JOBS.sendPartnerPostback } as never)).resolves.toBe(JOBS.sendPartnerPostback);
  });

  it('refuses to start when a job has no handler', async () => {
    await expect(boot([feature(EVERY_JOB.filter(([, name]) => name !== JOBS.sweep))])).rejects.toThrow('every job needs exactly one handler: sweep (0 handlers)');
  });

  it('refuses to start when a job has two handlers', async () => {
    await expect(boot([feature(EVERY_JOB), feature([[QUEUES.commissions, JOBS.payoutRun]])])).rejects.toThrow('two handlers for job commissions/payout-run');
    await expect(boot([feature(EVERY_JOB), feature([[QUEUES.payouts, JOBS.payoutRun]])])).rejects.toThrow('payout-run (2 handlers)');
  });

  it('refuses to start when an outbox topic routes to a queue where its job has no handler', async () => {
    await expect(boot([feature(EVERY_JOB)], { 'payout_run.requested': { queue: QUEUES.payouts, job: JOBS.payoutRun } })).rejects.toThrow(
      'payouts/payout-run (outbox topic payout_run.requested)',
    );
  });
});
