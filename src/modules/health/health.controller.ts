import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { Public } from '../../common/auth';
import { RedisService } from '../../queue/redis.service';
import { MetricsService } from '../../common/metrics/metrics.service';
import { GracefulShutdown } from './graceful-shutdown';

async function check(probe: () => Promise<unknown>, timeoutMs = 2000): Promise<{ status: 'up' | 'down'; latencyMs: number; error?: string }> {
  const started = process.hrtime.bigint();
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref())]);
    return { status: 'up', latencyMs: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (error) {
    return { status: 'down', latencyMs: Number(process.hrtime.bigint() - started) / 1e6, error: (error as Error).message };
  }
}

/** Readiness as /health, /health/ready and the worker's port answer it. */
export async function readiness(dataSource: DataSource, redis: RedisService, shutdown: GracefulShutdown): Promise<{ status: number; body: Record<string, unknown> }> {
  const [database, cache] = await Promise.all([check(() => dataSource.query('SELECT 1')), check(() => redis.client.ping())]);
  if (shutdown.draining) return { status: 503, body: { status: 'draining', checks: { database, redis: cache } } };
  const ok = database.status === 'up' && cache.status === 'up';
  return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'unavailable', checks: { database, redis: cache } } };
}

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    private readonly shutdown: GracefulShutdown,
  ) {}

  @Get(['health', 'health/ready'])
  @ApiOperation({ summary: 'Readiness: 200 when PostgreSQL and Redis answer, 503 otherwise and while the process drains before it stops' })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { database: { status: 'up' }, redis: { status: 'up' } } } } })
  async ready(@Res() reply: FastifyReply) {
    const { status, body } = await readiness(this.dataSource, this.redis, this.shutdown);
    return reply.status(status).send(body);
  }

  @Get('health/live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return { status: 'ok', uptimeSeconds: Math.floor(process.uptime()) };
  }

  @Get('metrics')
  @ApiExcludeEndpoint(false)
  @ApiOperation({ summary: 'Prometheus metrics' })
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async prometheus(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
