import { describe, expect, it } from '@jest/globals';
import { ClusterWorkers } from '../src/monitoring/cluster-workers.js';

class Worker {
  started = 0;
  stopped = 0;
  start() {
    this.started++;
  }
  async stop() {
    this.stopped++;
  }
}

describe('the per-cluster worker registry (event watchers, metrics collectors)', () => {
  it('runs one worker per cluster however often it is started, and stops every one at shutdown', async () => {
    const workers = new ClusterWorkers<Worker>();
    const made: Worker[] = [];
    const make = () => {
      const w = new Worker();
      made.push(w);
      return w;
    };
    workers.start('a', make);
    workers.start('a', make);
    workers.start('b', make);
    expect(made).toHaveLength(2);
    expect(made.map((w) => w.started)).toEqual([1, 1]);
    await workers.stop('a');
    expect(workers.running('a')).toBe(false);
    workers.start('a', make);
    expect(made).toHaveLength(3);
    await workers.stopAll();
    expect(made.map((w) => w.stopped)).toEqual([1, 1, 1]);
    expect(workers.running('b')).toBe(false);
  });
});
