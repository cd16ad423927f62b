import { describe, expect, it } from '@jest/globals';
import { JobSpec, canonicalJson } from '@berth/model';
import { LABEL } from '@berth/driver';
import { discoveryFrom, eventFrom, jobStatusFrom, parseEngineEvent, rolloutFrom, sinceParam, statsFrom, type ClusterView } from '../src/swarm-status.mapper.js';
import type { EngineService, EngineTask, EngineTaskSpec } from '../src/swarm-engine.types.js';

const NET = 'netid1';
const v1: EngineTaskSpec = { ContainerSpec: { Image: 'http:1' }, Networks: [{ Target: NET, Aliases: ['web'] }] };
const v2: EngineTaskSpec = { ContainerSpec: { Image: 'http:2' }, Networks: [{ Target: NET, Aliases: ['web'] }] };
const view: ClusterView = { nodeNames: new Map([['node1', 'vm']]) };

function service(template: EngineTaskSpec, extra: Partial<EngineService> = {}, replicas = 3): EngineService {
  return {
    ID: 'svc1',
    Version: { Index: 10 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:01:00Z',
    Spec: {
      Name: 'shop_web',
      Labels: { [LABEL.app]: 'shop', [LABEL.service]: 'web' },
      // the engine adds Runtime to the service's template, never to a task's spec
      TaskTemplate: { ...template, Runtime: 'container' },
      Mode: { Replicated: { Replicas: replicas } },
      UpdateConfig: { Parallelism: 2, FailureAction: 'pause', MaxFailureRatio: 0, Order: 'stop-first' },
      RollbackConfig: { Parallelism: 1, FailureAction: 'pause', MaxFailureRatio: 0, Order: 'stop-first' },
    },
    ...extra,
  };
}

let n = 0;
function task(spec: EngineTaskSpec, state: EngineTask['Status']['State'], extra: Partial<EngineTask> = {}): EngineTask {
  n += 1;
  return {
    ID: `task${n}`,
    CreatedAt: '2026-01-01T00:01:30Z',
    Spec: spec,
    ServiceID: 'svc1',
    Slot: n,
    NodeID: 'node1',
    Status: { State: state, Timestamp: '2026-01-01T00:02:00Z' },
    DesiredState: state === 'running' || state === 'starting' ? 'running' : 'shutdown',
    NetworksAttachments: [{ Network: { ID: NET }, Addresses: [`10.0.1.${n}/24`] }],
    ...extra,
  };
}

describe('rolloutFrom', () => {
  it('maps each engine update state to a rollout state', () => {
    const cases = {
      updating: 'progressing',
      paused: 'paused',
      completed: 'completed',
      rollback_started: 'rolling-back',
      rollback_completed: 'rolled-back',
      rollback_paused: 'failed',
    } as const;
    for (const [engine, berth] of Object.entries(cases)) {
      const s = service(v2, { UpdateStatus: { State: engine as keyof typeof cases, Message: 'm' } });
      expect([engine, rolloutFrom(s, [task(v2, 'running')]).state]).toEqual([engine, berth]);
    }
  });

  it('counts replicas on the new spec, and batches from the update parallelism', () => {
    const tasks = [task(v2, 'running'), task(v2, 'running'), task(v1, 'running')];
    const status = rolloutFrom(service(v2, { UpdateStatus: { State: 'updating', StartedAt: '2026-01-01T00:01:00Z' } }), tasks);
    expect(status.replicas).toEqual({ desired: 3, running: 3, ready: 3, updated: 2 });
    expect(status.batches).toEqual({ done: 1, total: 2 });
  });

  it('is progressing after an update the engine has not started yet (it clears UpdateStatus first)', () => {
    const status = rolloutFrom(service(v2), [task(v1, 'running'), task(v1, 'running'), task(v1, 'running')]);
    expect(status.state).toBe('progressing');
    expect(status.replicas.updated).toBe(0);
  });

  it('completes a new service once every desired replica runs the current spec', () => {
    expect(rolloutFrom(service(v1), [task(v1, 'running'), task(v1, 'starting')]).state).toBe('progressing');
    const done = rolloutFrom(service(v1), [task(v1, 'running'), task(v1, 'running'), task(v1, 'running')]);
    expect(done.state).toBe('completed');
    expect(done.batches).toEqual({ done: 2, total: 2 });
  });

  it('explains a rollback with the failed tasks of this rollout', () => {
    const s = service(v1, { UpdateStatus: { State: 'rollback_completed', StartedAt: '2026-01-01T00:01:00Z', Message: 'update rolled back due to failure' } });
    const status = rolloutFrom(s, [
      task(v1, 'running'),
      task(v2, 'failed', { Status: { State: 'failed', Err: 'task: non-zero exit (1)' } }),
      task(v2, 'failed', { CreatedAt: '2025-12-31T00:00:00Z', Status: { State: 'failed', Err: 'an older failure' } }),
    ]);
    expect(status.state).toBe('rolled-back');
    expect(status.failed).toBe(1);
    expect(status.message).toContain('update rolled back due to failure');
    expect(status.message).toContain('non-zero exit (1)');
  });
});

describe('discoveryFrom', () => {
  it('reports the service name, tasks alias, the VIP on the app network, assigned ports and task addresses', () => {
    const s = service(v1, {
      Endpoint: {
        Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30001, PublishMode: 'ingress' }],
        VirtualIPs: [
          { NetworkID: 'ingress', Addr: '10.0.0.3/24' },
          { NetworkID: NET, Addr: '10.0.1.2/24' },
        ],
      },
    });
    const t = task(v1, 'running');
    const d = discoveryFrom(s, [t, task(v1, 'shutdown')], view);
    expect(d).toEqual({
      dnsName: 'web',
      aliases: ['tasks.shop_web', 'shop_web'],
      virtualIps: ['10.0.1.2'],
      ports: [{ target: 80, published: 30001, protocol: 'tcp', mode: 'ingress' }],
      endpoints: [
        {
          id: t.ID,
          replica: String(t.Slot),
          node: 'vm',
          address: t.NetworksAttachments![0]!.Addresses![0]!.replace('/24', ''),
          state: 'running',
          ready: true,
          image: 'http:1',
        },
      ],
    });
  });

  it('gives stateful replicas their slot hostname', () => {
    const spec: EngineTaskSpec = { ...v1, ContainerSpec: { Image: 'db:1', Hostname: 'db-{{.Task.Slot}}' } };
    const t = task(spec, 'running', { Slot: 2 });
    expect(discoveryFrom(service(spec), [t], view).endpoints[0]!.hostname).toBe('db-2');
  });
});

describe('jobStatusFrom', () => {
  const jobService = (job: JobSpec, completed = 0): EngineService => ({
    ...service(v1),
    Spec: {
      ...service(v1).Spec,
      Labels: { [LABEL.job]: job.name, [LABEL.spec]: canonicalJson(job) },
      Mode: { ReplicatedJob: { MaxConcurrent: job.parallelism, TotalCompletions: job.completions } },
    },
    ServiceStatus: { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: completed },
  });
  const exited = (code: number) =>
    task(v1, code === 0 ? 'complete' : 'failed', {
      Status: { State: code === 0 ? 'complete' : 'failed', ContainerStatus: { ExitCode: code }, Timestamp: '2026-01-01T00:03:00Z' },
    });

  it('succeeds when the runs reach the completions, with their exit codes', () => {
    const job = JobSpec.parse({ name: 'ok', image: 'x', completions: 2 });
    const status = jobStatusFrom('shop', 'job-ok-1', jobService(job, 2), [exited(0), exited(0)], view);
    expect(status.state).toBe('succeeded');
    expect(status.completions).toEqual({ desired: 2, succeeded: 2, failed: 0, active: 0 });
    expect(status.runs.map((r) => r.exitCode)).toEqual([0, 0]);
    expect(status.completedAt).toBe('2026-01-01T00:03:00Z');
  });

  it('fails once more runs failed than backoffLimit allows, naming the exit code', () => {
    const job = JobSpec.parse({ name: 'bad', image: 'x' });
    const status = jobStatusFrom('shop', 'job-bad-1', jobService(job), [exited(3)], view);
    expect(status.state).toBe('failed');
    expect(status.message).toContain('exit code 3');
  });

  it('keeps running while retries remain, and fails a run that overstays its timeout', () => {
    const job = JobSpec.parse({ name: 'slow', image: 'x', backoffLimit: 2, timeout: '1m' });
    const tasks = [exited(1), task(v1, 'running')];
    expect(jobStatusFrom('shop', 'j', jobService(job), tasks, view, Date.parse('2026-01-01T00:00:30Z')).state).toBe('running');
    const late = jobStatusFrom('shop', 'j', jobService(job), tasks, view, Date.parse('2026-01-01T00:05:00Z'));
    expect(late.state).toBe('failed');
    expect(late.message).toContain('timeout of 1m');
  });
});

describe('events', () => {
  const line =
    '{"status":"start","id":"abc","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"com.docker.swarm.service.name":"shop_web","name":"shop_web.1.xyz"}},"scope":"local","time":1764086400,"timeNano":1764086400123456789}';

  it('keeps every digit of timeNano, which a JSON number would round', () => {
    const e = parseEngineEvent(line)!;
    expect(e.timeNano).toBe('1764086400123456789');
    expect(sinceParam(e.timeNano)).toBe('1764086400.123456789');
  });

  it('derives app and service from the swarm service name, with a stable id and a cursor', () => {
    const event = eventFrom(parseEngineEvent(line)!);
    expect(event).toMatchObject({
      id: '1764086400123456789-abc-start',
      cursor: '1764086400123456789',
      time: '2025-11-25T16:00:00.123Z',
      objectKind: 'container',
      objectName: 'shop_web.1.xyz',
      app: 'shop',
      service: 'web',
      action: 'start',
    });
  });

  it('reads service and network events by their <app>_ names', () => {
    const svc = eventFrom({
      Type: 'service',
      Action: 'update',
      Actor: { ID: 's1', Attributes: { name: 'shop_db', 'replicas.old': '1', 'replicas.new': '2' } },
      time: 1,
      timeNano: '1000000000',
    });
    expect(svc).toMatchObject({ app: 'shop', service: 'db', message: 'replicas 1 -> 2' });
    const net = eventFrom({ Type: 'network', Action: 'create', Actor: { ID: 'n1', Attributes: { name: 'shop_default' } }, time: 1, timeNano: '1000000000' });
    expect(net.app).toBe('shop');
    expect(net.service).toBeUndefined();
  });
});

describe('statsFrom', () => {
  it('turns cpu deltas into cores and reports memory without the page cache', () => {
    const sample = statsFrom(
      { Id: 'c1', Names: ['/shop_web.1.xyz'], State: 'running', Labels: { [LABEL.app]: 'shop', [LABEL.service]: 'web' } },
      {
        read: '2026-01-01T00:00:01Z',
        cpu_stats: { cpu_usage: { total_usage: 1_500_000_000 }, system_cpu_usage: 4_000_000_000, online_cpus: 2 },
        precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 2_000_000_000 },
        memory_stats: { usage: 50_000_000, limit: 100_000_000, stats: { total_inactive_file: 10_000_000 } },
        networks: { eth0: { rx_bytes: 10, tx_bytes: 20 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
        blkio_stats: {
          io_service_bytes_recursive: [
            { op: 'Read', value: 7 },
            { op: 'Write', value: 9 },
            { op: 'Total', value: 16 },
          ],
        },
      },
      'vm',
    );
    expect(sample).toEqual({
      time: '2026-01-01T00:00:01Z',
      app: 'shop',
      service: 'web',
      replica: 'shop_web.1.xyz',
      node: 'vm',
      cpuCores: 0.5,
      memoryBytes: 40_000_000,
      memoryLimitBytes: 100_000_000,
      netRxBytes: 11,
      netTxBytes: 22,
      blockReadBytes: 7,
      blockWriteBytes: 9,
    });
  });

  it('skips a container that stopped before it was read', () => {
    expect(statsFrom({ Id: 'c', Names: ['/c'], State: 'exited', Labels: {} }, { read: '0001-01-01T00:00:00Z', memory_stats: {} })).toBeUndefined();
  });
});
