import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BoardFastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bullmq';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerKey } from '../../common/auth';
import { QUEUES } from '../../queue/queues';
import { PrincipalsService } from '../principals/principals.service';
import { BoardSessions } from './board-sessions';

export const BOARD_PATH = '/admin/queues';
export const BOARD_COOKIE = 'afx_board';

function cookie(request: FastifyRequest, name: string): string | undefined {
  return request.headers.cookie
    ?.split(';')
    .map((c) => c.trim().split('='))
    .find(([k]) => k === name)?.[1];
}

/**
 * Bull Board at /admin/queues for admins only: an admin API key as a Bearer header, or the
 * session cookie /admin/login issues for that key. Everyone else gets 401 (or the login page).
 */
export async function mountQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const accounts = app.get(PrincipalsService);
  const sessions = app.get(BoardSessions);
  const serverAdapter = new BoardFastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({ queues: Object.values(QUEUES).map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)))), serverAdapter });

  const isAdmin = async (request: FastifyRequest): Promise<boolean> => {
    const bearer = bearerKey(request.headers.authorization);
    if (bearer) return (await accounts.authenticate(bearer, request.ip).catch(() => null))?.role === 'admin';
    const keyId = sessions.verify(cookie(request, BOARD_COOKIE));
    return keyId !== null && (await accounts.isActiveKeyOfRole(keyId, 'admin'));
  };

  await app.register(async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (await isAdmin(request)) return;
      if ((request.headers.accept ?? '').includes('text/html')) return reply.redirect('/admin/login', 303);
      return reply
        .status(401)
        .send({ error: { code: 'unauthorized', message: 'The queue dashboard is for admins: send an admin API key or sign in at /admin/login', details: [] } });
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
  });
}
