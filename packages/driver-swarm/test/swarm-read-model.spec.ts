import { describe, expect, it } from '@jest/globals';
import { LABEL } from '@berth/driver';
import { converging, keptTask } from '../src/swarm-read-model.js';
import { serviceStatusFrom } from '../src/swarm-status.mapper.js';
import type { EngineService, EngineTask, EngineTaskSpec } from '../src/swarm-engine.types.js';

const spec: EngineTaskSpec = { ContainerSpec: { Image: 'http:1' }, Networks: [{ Target: 'net1' }] };

function service(replicas: number, extra: Partial<EngineService> = {}): EngineService {
  return {
    ID: 'svc1',
    Version: { Index: 3 },
    Spec: { Name: 'shop_web', Labels: { [LABEL.app]: 'shop', [LABEL.service]: 'web' }, TaskTemplate: spec, Mode: { Replicated: { Replicas: replicas } } },
    ...extra,
  };
}

let n = 0;
function task(state: EngineTask['Status']['State'], desired: EngineTask['DesiredState'] = 'running'): EngineTask {
  n += 1;
  return { ID: `t${n}`, Spec: spec, ServiceID: 'svc1', Slot: n, NodeID: 'node1', Status: { State: state }, DesiredState: desired };
}

describe('converging (whose tasks the read model polls)', () => {
  it('is settled when every wanted task runs and the old ones have ended, failed ones included', () => {
    expect(converging(service(2), [task('running'), task('running'), task('shutdown', 'shutdown'), task('failed', 'shutdown')])).toBe(false);
    expect(converging(service(0), [task('complete', 'shutdown')])).toBe(false);
  });

  it('converges while a task starts, an old one still runs, or the engine has not made every task yet', () => {
    expect(converging(service(2), [task('running'), task('starting')])).toBe(true);
    expect(converging(service(1), [task('running'), task('running', 'shutdown')])).toBe(true);
    expect(converging(service(3), [task('running'), task('running')])).toBe(true);
  });

  it('converges while the engine reports an update or a rollback under way', () => {
    const tasks = [task('running')];
    expect(converging(service(1, { UpdateStatus: { State: 'updating' } }), tasks)).toBe(true);
    expect(converging(service(1, { UpdateStatus: { State: 'rollback_started' } }), tasks)).toBe(true);
    expect(converging(service(1, { UpdateStatus: { State: 'paused' } }), tasks)).toBe(false);
  });

  it('a global service wants as many tasks as the engine says', () => {
    const global: EngineService = { ...service(0), Spec: { ...service(0).Spec, Mode: { Global: {} } }, ServiceStatus: { RunningTasks: 1, DesiredTasks: 2 } };
    expect(converging(global, [task('running')])).toBe(true);
    expect(converging(global, [task('running'), task('running')])).toBe(false);
  });
});

describe('keptTask', () => {
  it('keeps what mapping reads: a status from the kept task equals one from the engine task', () => {
    const full = {
      ...task('running'),
      Version: { Index: 9 },
      NetworksAttachments: [{ Network: { ID: 'net1', Spec: { Name: 'shop_default' } }, Addresses: ['10.0.1.5/24'] }],
    } as EngineTask;
    const kept = keptTask(full);
    expect(kept.NetworksAttachments).toEqual([{ Network: { ID: 'net1' }, Addresses: ['10.0.1.5/24'] }]);
    const view = { nodeNames: new Map([['node1', 'vm']]) };
    expect(serviceStatusFrom(service(1), [kept], view)).toEqual(serviceStatusFrom(service(1), [full], view));
  });
});
