import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../../common/auth';
import { PortalAssets } from './portal-assets';

@ApiExcludeController()
@Public()
@Controller('portal/assets')
export class AssetsController {
  constructor(private readonly assets: PortalAssets) {}

  @Get(':name')
  serve(@Param('name') name: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    const asset = this.assets.get(name);
    if (!asset) return reply.status(404).type('text/plain; charset=utf-8').send('Not found');
    const etag = `"${asset.version}"`;
    const versioned = (request.query as Record<string, unknown>).v === asset.version;
    const accepts = String(request.headers['accept-encoding'] ?? '');
    const encoding = /\bbr\b/.test(accepts) ? 'br' : /\bgzip\b/.test(accepts) ? 'gzip' : null;
    reply
      .header('etag', etag)
      .header('vary', 'accept-encoding')
      .header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
      .type(asset.type);
    if (request.headers['if-none-match'] === etag) return reply.status(304).send();
    if (encoding) return reply.header('content-encoding', encoding).send(asset[encoding]);
    return reply.send(asset.body);
  }
}
