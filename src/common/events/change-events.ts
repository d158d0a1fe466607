import { Global, Injectable, Module } from '@nestjs/common';

export type ChangedThing = 'offer' | 'principal';
type Listener = (kind: ChangedThing, id: string) => void;

/**
 * In-process news that an offer or a principal changed, so caches on the hot paths (links for
 * redirects, offers for conversions) drop their copy at once here; other processes rely on
 * the caches' short TTL.
 */
@Injectable()
export class ChangeEvents {
  private readonly listeners = new Set<Listener>();

  emit(kind: ChangedThing, id: string): void {
    for (const listener of this.listeners) listener(kind, id);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

@Global()
@Module({ providers: [ChangeEvents], exports: [ChangeEvents] })
export class ChangeEventsModule {}
