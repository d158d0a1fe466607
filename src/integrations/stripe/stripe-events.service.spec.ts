import { STRIPE_EVENT_OWNERS, StripeEventOwner, StripeEventsService, StripeEventType } from './stripe-events.service';

describe('StripeEventsService registration', () => {
  // Registration touches neither the database nor the outbox.
  const service = () => new StripeEventsService(null as never, null as never);
  const handler = async () => 'done';

  it('lets each feature register only the events it owns, once', () => {
    const events = service();
    for (const [type, owner] of Object.entries(STRIPE_EVENT_OWNERS)) events.on(owner, type as StripeEventType, handler);
    expect(events.registered()).toEqual(Object.keys(STRIPE_EVENT_OWNERS).sort());
    expect(() => events.on('payouts', 'transfer.reversed', handler)).toThrow('two handlers for Stripe event transfer.reversed');
  });

  it.each<[StripeEventOwner, StripeEventType]>([
    ['billing', 'transfer.reversed'],
    ['billing', 'account.updated'],
    ['payouts', 'invoice.paid'],
  ])('refuses %s handling %s', (owner, type) => {
    expect(() => service().on(owner, type, handler)).toThrow(`Stripe event ${type} is handled by ${STRIPE_EVENT_OWNERS[type]}, not ${owner}`);
  });
});
