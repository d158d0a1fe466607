import type { ConfigService } from '@nestjs/config';
import type { HttpAdapterHost } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import type { Config } from '../../config/configuration';
import type { RedisService } from '../../queue/redis.service';
import { MetricsService } from '../../common/metrics/metrics.service';
import { CountryTable } from '../../common/geo/countries';
import { ClickBuffer } from './click-buffer';

/** A ClickBuffer on stand-ins: these tests only start it, nothing is written. */
function clickBuffer(httpAdapter: unknown): ClickBuffer {
  const tracking = { bufferMax: 100, batchSize: 10, flushIntervalMs: 100, backpressureTimeoutMs: 100 };
  const config = { get: () => tracking } as unknown as ConfigService<Config, true>;
  const redis = { client: { defineCommand: () => undefined } } as unknown as RedisService;
  return new ClickBuffer(config, {} as DataSource, redis, new MetricsService(), { httpAdapter } as HttpAdapterHost);
}

describe('ClickBuffer start-up', () => {
  it('reads the country data before an HTTP process listens, so the first batch does not wait for it; never in the worker', async () => {
    const load = jest.spyOn(CountryTable, 'load');
    const worker = clickBuffer(undefined);
    await worker.onApplicationBootstrap();
    expect(load).not.toHaveBeenCalled();

    const api = clickBuffer({});
    await api.onApplicationBootstrap();
    expect(load).toHaveBeenCalledTimes(1);
    await Promise.all([worker.onApplicationShutdown(), api.onApplicationShutdown()]);
  });
});
