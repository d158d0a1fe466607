import { Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { OnJob } from '../../queue/on-job';
import { JOBS, QUEUES } from '../../queue/queues';
import { WebhookEventType } from './webhook.entities';
import { SendWebhookJob, WebhooksService } from './webhooks.service';

declare module '../../queue/outbox/outbox.topics' {
  interface OutboxTopics {
    /** A conversion event (`{eventId}`, the conversion as aggregate): its webhooks to the advertiser and the affiliate. */
    'webhook.conversion': true;
    /**
     * Any feature's event for one principal: `{principalId, type, data}`, the aggregate id a key
     * unique to the event (the same key never makes a second event).
     */
    'webhook.dispatch': true;
  }
}

/** What a producer writes for `webhook.dispatch` (outbox payload). */
export interface WebhookDispatchPayload {
  principalId: string;
  type: WebhookEventType;
  data: Record<string, unknown>;
}

const jobKey = (value: string) => value.replace(/[^\w.-]/g, '-');

export const WEBHOOKS_ROUTES = {
  'webhook.conversion': { queue: QUEUES.partnerPostbacks, job: JOBS.dispatchWebhook, jobId: (id: string, p: Record<string, unknown>) => `webhook-conversion-${id}-${p.eventId}` },
  'webhook.dispatch': {
    queue: QUEUES.partnerPostbacks,
    job: JOBS.dispatchWebhook,
    jobId: (id: string, p: Record<string, unknown>) => `webhook-dispatch-${jobKey(String(p.type))}-${jobKey(id)}`,
  },
};

/** Outgoing webhooks: the events become calls (dispatch), each call a job of its own (send). */
@Injectable()
export class WebhooksJobs {
  constructor(private readonly webhooks: WebhooksService) {}

  @OnJob({ queue: QUEUES.partnerPostbacks, name: JOBS.dispatchWebhook })
  dispatch(job: Job<Partial<WebhookDispatchPayload> & { id: string; eventId?: string }>): Promise<number> {
    const { id, eventId, principalId, type, data } = job.data;
    if (eventId !== undefined) return this.webhooks.conversionEvent(id, String(eventId));
    return this.webhooks.dispatch(principalId!, type!, data ?? {}, `dispatch:${type}:${id}`);
  }

  @OnJob({ queue: QUEUES.partnerPostbacks, name: JOBS.sendWebhook })
  send(job: Job<SendWebhookJob>): Promise<unknown> {
    return this.webhooks.send(job.data);
  }
}
