import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

export interface ProgressEvent {
  operationId: string;
  time: string;
  phase: string;
  message?: string;
  service?: string;
  replicasUpdated?: number;
  replicasReady?: number;
  replicasTotal?: number;
  batchesDone?: number;
  batchesTotal?: number;
  /** Set on the last event of an operation: its final status. */
  final?: string;
}

/** In-process fan-out of operation progress to SSE streams and GraphQL subscriptions. */
@Injectable()
export class OperationEvents {
  private readonly bus = new EventEmitter().setMaxListeners(0);

  publish(event: ProgressEvent): void {
    this.bus.emit(event.operationId, event);
    this.bus.emit('*', event);
  }

  /**
   * Live events of one operation (or of all with '*') until the signal aborts. Listening starts at
   * the call, not at the first read, so a caller can subscribe, then replay history, and miss nothing.
   */
  subscribe(operationId: string, signal: AbortSignal): AsyncIterable<ProgressEvent> {
    const queue: ProgressEvent[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (e: ProgressEvent) => {
      queue.push(e);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.bus.on(operationId, onEvent);
    signal.addEventListener('abort', onAbort);
    const bus = this.bus;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          while (!signal.aborted) {
            const next = queue.shift();
            if (next) {
              yield next;
              continue;
            }
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          bus.off(operationId, onEvent);
          signal.removeEventListener('abort', onAbort);
        }
      },
    };
  }
}
