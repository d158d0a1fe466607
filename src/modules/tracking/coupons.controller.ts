import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPrincipal, CurrentPrincipal, Roles } from '../../common/auth';
import { ParseIdPipe } from '../../common/http/parse-id.pipe';
import { mapPage, Page } from '../../common/pagination';
import { Coupon } from './coupon.entity';
import { CouponsService } from './coupons.service';
import { CouponView, CreateCouponDto, ListCouponsQueryDto } from './dto/coupons.dto';
import { toCouponView } from './tracking.views';

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

  @Post(':id/approve')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: "Approve an affiliate's pending vanity code: it becomes active" })
  @ApiOkResponse({ type: CouponView })
  approve(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<CouponView> {
    return this.view(this.coupons.approve(actor, id));
  }

  @Post(':id/reject')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reject a pending vanity code; the code is free again' })
  @ApiOkResponse({ type: CouponView })
  reject(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<CouponView> {
    return this.view(this.coupons.reject(actor, id));
  }

  @Post(':id/revoke')
  @Roles('advertiser', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an active or pending code: it stops attributing; the code stays taken' })
  @ApiOkResponse({ type: CouponView })
  revoke(@CurrentPrincipal() actor: AuthPrincipal, @Param('id', ParseIdPipe) id: string): Promise<CouponView> {
    return this.view(this.coupons.revoke(actor, id));
  }

  private async view(coupon: Promise<Coupon>): Promise<CouponView> {
    return toCouponView(await coupon);
  }
}
