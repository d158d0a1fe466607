import { applyDecorators, Controller, Get, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../common/auth';
import { ClickRedirectService } from './click-redirect.service';
import { SUB_IDS } from './tracking-link.entity';

/** Declares the click route; Fastify runs ClickRedirectService.handle for it directly (see there). */
@ApiTags('tracking')
@Public()
@Controller('c')
export class RedirectController {
  constructor(private readonly redirect: ClickRedirectService) {}

  @Get(':code')
  // Helmet's document headers (CSP, frame options…) mean nothing on an empty 302 and were a
  // third of the response's bytes and a good share of its CPU.
  @RouteConfig({ helmet: { skipRoute: true } })
  @ApiOperation({ summary: 'Click redirect: records the click and answers 302 to the landing URL with macros filled; sets the afx_click cookie' })
  @ApiParam({ name: 'code', description: 'the link code' })
  @applyDecorators(...SUB_IDS.map((name) => ApiQuery({ name, required: false, description: `overrides the link's ${name} (at most 255 characters kept)` })))
  @ApiResponse({ status: 302, description: 'to the landing URL, or to the fallback URL when the offer is paused or archived, the affiliate suspended or the link archived' })
  @ApiResponse({ status: 404, description: 'link_not_found' })
  @ApiResponse({ status: 410, description: 'offer_unavailable: the link may not run and the offer has no fallback URL' })
  click(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.redirect.handle(request, reply);
  }
}
