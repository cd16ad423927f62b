import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { liveQueue } from '../common/live-queue.js';

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
export class OperationEvents implements OnModuleDestroy {
  private readonly bus = new EventEmitter().setMaxListeners(0);
  /** Ends every stream on shutdown: an open SSE response would hold the HTTP server open. */
  private readonly closing = new AbortController();

  publish(event: ProgressEvent): void {
    this.bus.emit(event.operationId, event);
    this.bus.emit('*', event);
  }

  /** Live events of one operation (or of all with '*') until the signal aborts; listening starts now. */
  subscribe(operationId: string, signal: AbortSignal): AsyncIterable<ProgressEvent> {
    return liveQueue<ProgressEvent>(
      (push) => {
        this.bus.on(operationId, push);
        return () => this.bus.off(operationId, push);
      },
      AbortSignal.any([signal, this.closing.signal]),
    );
  }

  onModuleDestroy() {
    this.closing.abort();
  }
}
