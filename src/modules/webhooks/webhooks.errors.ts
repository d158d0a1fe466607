import { NotFoundError } from '../../common/errors';

export class WebhooksError {
  static endpointNotFound() {
    return new NotFoundError('Webhook endpoint');
  }
}
