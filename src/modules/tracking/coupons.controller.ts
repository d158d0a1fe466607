import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseEnumPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { AppError } from '../../common/errors';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { CouponsService } from './coupons.service';
import { CouponView, CreateCouponDto, ListCouponsQueryDto } from './dto/coupons.dto';
import { toCouponView } from './tracking.views';

enum CouponAction {
  Approve = 'approve',
  Reject = 'reject',
  Revoke = 'revoke',
}
const COUPON_ACTIONS = Object.values(CouponAction);

@ApiTags('coupons')
@ApiBearerAuth()
@Controller('v1/coupons')
export class CouponsController {
  constructor(private readonly coupons: CouponsService) {}

  @Post()
  @Roles('advertiser', 'admin', 'affiliate')
  @ApiOperation({ summary: 'Advertisers and admins assign an active code to an affiliate; an affiliate requests a vanity code (pending)' })
  @ApiCreatedResponse({ type: CouponView })
  async create(@CurrentPrincipal() actor: AuthPrincipal, @Body() dto: CreateCouponDto): Promise<CouponView> {
    return toCouponView(await this.coupons.create(actor, dto));
  }

  @Get()
  @ApiOperation({ summary: 'Coupons: affiliates their own, advertisers theirs, admins and finance all' })
  @ApiOkResponse({ type: CouponView, isArray: true })
  async list(@CurrentPrincipal() actor: AuthPrincipal, @Query() query: ListCouponsQueryDto): Promise<Page<CouponView>> {
    return mapPage(await this.coupons.list(actor, query), toCouponView);
  }

  @Get(':id')
  @ApiOkResponse({ type: CouponView })
  async get(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<CouponView> {
    return toCouponView(await this.coupons.get(actor, id));
  }

  @Post(':id/:action')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'approve: a pending vanity code becomes active; reject: it is refused and the code is free again; revoke: an active or pending code stops attributing (the code stays taken)',
  })
  @ApiParam({ name: 'action', enum: COUPON_ACTIONS })
  @ApiOkResponse({ type: CouponView })
  async decide(
    @CurrentPrincipal() actor: AuthPrincipal,
    @Param('id', ParseIdPipe) id: string,
    @Param('action', new ParseEnumPipe(CouponAction, { exceptionFactory: () => new AppError('not_found', HttpStatus.NOT_FOUND, 'Not found') })) action: CouponAction,
  ): Promise<CouponView> {
    return toCouponView(await this.coupons[action](actor, id));
  }
}
