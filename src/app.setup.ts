import helmet from '@fastify/helmet';
import { INestApplicationContext, Logger, LoggerService } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, AppModuleOptions } from './app.module';
import { PinoLoggerService } from './common/logging/pino-logger';
import { accessLogLine } from './common/logging/access-log';
import { Config, readEnvironment, trustProxySetting } from './config/configuration';
import { MetricsService } from './common/metrics/metrics.service';
import { mountQueueDashboard } from './modules/operations/queue-dashboard';
import { GracefulShutdown } from './modules/health/graceful-shutdown';
import { LeanServer, requestIdOf } from './common/http/lean-server';
import { ClickRedirectService } from './modules/tracking/click-redirect.service';

export interface CreateAppOptions extends AppModuleOptions {
  logger?: LoggerService;
  bodyLimitBytes: number;
}

/** Builds the HTTP app exactly as production runs it; tests call this too. */
export async function createApp(options: CreateAppOptions): Promise<NestFastifyApplication> {
  const lean = new LeanServer();
  const adapter = new FastifyAdapter({
    // The click redirect is answered ahead of Fastify's per-request hooks (ARCHITECTURE.md, "Hot paths").
    serverFactory: lean.serverFactory,
    bodyLimit: options.bodyLimitBytes,
    // Only the configured proxies may name the client: anyone else could forge X-Forwarded-For.
    trustProxy: trustProxySetting(readEnvironment().TRUST_PROXY),
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => requestIdOf(req.headers),
    routerOptions: { maxParamLength: 200 },
    // After the drain (GracefulShutdown) a request that still reached us is served, with
    // `Connection: close`, not refused with 503: its click is written at close like the others.
    return503OnClosing: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    rawBody: true,
    bufferLogs: true,
    abortOnError: false,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await configureApp(app);
  lean.route('/c/', app.get(ClickRedirectService).lean);
  const shutdown = app.get(GracefulShutdown);
  lean.draining = () => shutdown.draining;
  return app;
}

/** What cannot be a provider: HTTP plugins, docs, hooks, shutdown. */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  const config = app.get(ConfigService<Config, true>);
  const fastify = app.getHttpAdapter().getInstance();
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
  });
  app.enableCors({ origin: false });

  const metrics = app.get(MetricsService);
  const { accessLog, metricsPort, docsEnabled } = config.get('app', { infer: true });
  const http = new Logger('Http');
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    const hot = metrics.selfRecorded.has(`${request.method} ${route}`);
    // One line per request (README, "Logs"): the route, never the URL (its query may hold a token).
    if (accessLog === 'all' || (accessLog === 'api' && !hot)) http.log(accessLogLine(request.method, route, reply.statusCode, reply.elapsedTime, String(request.id)));
    if (hot) return done();
    metrics.httpRequests.inc({ method: request.method, route, status: `${Math.floor(reply.statusCode / 100)}xx` });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
  // Validation and transformation recurse through bodies: a deeply nested one would overflow the stack (a 500).
  fastify.addHook('preValidation', (request, reply, done) => {
    if (!nestedDeeperThan(request.body, MAX_BODY_DEPTH)) return done();
    void reply
      .code(400)
      .header('content-type', 'application/json; charset=utf-8')
      .send({ error: { code: 'malformed_request', message: `The body is nested more than ${MAX_BODY_DEPTH} levels deep`, details: [] } });
  });
  const shutdown = app.get(GracefulShutdown);
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    // While draining, clients reconnect (through the load balancer, to another instance).
    if (shutdown.draining) reply.header('connection', 'close');
    done(null, payload);
  });

  // With METRICS_PORT, /metrics is served there only, away from the public port (OpsServer).
  if (metricsPort !== undefined)
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.url !== '/metrics' && !request.url.startsWith('/metrics?')) return done();
      void reply
        .code(404)
        .header('content-type', 'application/json; charset=utf-8')
        .send({ error: { code: 'not_found', message: 'Metrics are served on METRICS_PORT', details: [] } });
    });

  if (docsEnabled) mountDocs(app, config.get('app', { infer: true }).publicBaseUrl);
  await mountQueueDashboard(app);
  shutdown.install(app);
}

/** The OpenAPI document and Swagger UI at /docs (DOCS_ENABLED). */
function mountDocs(app: NestFastifyApplication, publicBaseUrl: string): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Afflux API')
      .setDescription('Affiliate and partner network: offers, tracking, conversions, ledger, payouts, statements.')
      .setVersion('1')
      .addServer(publicBaseUrl)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an afx_… API key' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
}

const MAX_BODY_DEPTH = 32;

/** Whether objects or arrays nest deeper than `max` in `value`, walked without recursion. */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

export function createLogger(level: string): PinoLoggerService {
  return new PinoLoggerService(level);
}

export async function closeQuietly(app: INestApplicationContext | undefined): Promise<void> {
  if (app) await app.close().catch(() => undefined);
}
