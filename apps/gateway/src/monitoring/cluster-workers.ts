/** A background worker bound to one cluster: an event watcher, a metrics collector. */
export interface ClusterWorker {
  start(): void;
  stop(): Promise<void>;
}

/**
 * The workers of one kind this replica runs: at most one per cluster (the one whose lease it holds),
 * started once, stopped and forgotten together, all of them at shutdown.
 */
export class ClusterWorkers<W extends ClusterWorker> {
  private readonly workers = new Map<string, W>();

  /** Starts the cluster's worker made by `create`, unless one runs already. */
  start(clusterId: string, create: () => W): void {
    if (this.workers.has(clusterId)) return;
    const worker = create();
    this.workers.set(clusterId, worker);
    worker.start();
  }

  async stop(clusterId: string): Promise<void> {
    const worker = this.workers.get(clusterId);
    this.workers.delete(clusterId);
    await worker?.stop();
  }

  get(clusterId: string): W | undefined {
    return this.workers.get(clusterId);
  }

  running(clusterId: string): boolean {
    return this.workers.has(clusterId);
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.workers.keys()].map((id) => this.stop(id)));
  }
}
