import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { MetricsService } from '../../common/metrics/metrics.service';
import { RedisService } from '../../queue/redis.service';
import { GracefulShutdown } from './graceful-shutdown';
import { readiness } from './health.controller';

/**
 * A small HTTP listener for operations, apart from the public port (README, "Operations"): the
 * worker's health and metrics (WORKER_PORT), and the API's /metrics when METRICS_PORT is set.
 * It serves /health/live, /health/ready (and /health) and /metrics, nothing else.
 */
@Injectable()
export class OpsServer implements OnApplicationShutdown {
  private readonly logger = new Logger(OpsServer.name);
  private server: http.Server | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    private readonly shutdown: GracefulShutdown,
  ) {}

  /** Listens on `port` (0: any free one); answers the port it got. */
  async listen(port: number, host: string): Promise<number> {
    const server = http.createServer((req, res) => void this.answer(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    this.logger.log(`health and metrics on port ${bound}`);
    return bound;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET') return send(res, 405, 'application/json', JSON.stringify({ error: { code: 'method_not_allowed', message: 'GET only', details: [] } }));
      if (path === '/health/live') return send(res, 200, 'application/json', JSON.stringify({ status: 'ok', uptimeSeconds: Math.floor(process.uptime()) }));
      if (path === '/health' || path === '/health/ready') {
        const { status, body } = await readiness(this.dataSource, this.redis, this.shutdown);
        return send(res, status, 'application/json', JSON.stringify(body));
      }
      if (path === '/metrics') return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await this.metrics.registry.metrics());
      send(res, 404, 'application/json', JSON.stringify({ error: { code: 'not_found', message: `No route ${path}`, details: [] } }));
    } catch (error) {
      send(res, 500, 'application/json', JSON.stringify({ error: { code: 'internal_error', message: (error as Error).message, details: [] } }));
    }
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
