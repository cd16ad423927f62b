import type { GatewayProcess } from './gateway.process.js';
import type { KubernetesDirect } from './kubernetes.direct.js';
import type { SwarmDirect } from './swarm.direct.js';

export const SECTIONS = ['reads', 'deploy', 'events', 'throughput', 'history', 'soak'] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface Options {
  full: boolean;
  /** Service counts of the read benchmark. */
  counts: number[];
  sections: Set<SectionName>;
  swarm: boolean;
  kubernetes: boolean;
  /** Repetitions of the deploy, per path. */
  rounds: number;
  /** Repetitions of the rolling update, per path (a Swarm rollout of 10 replicas takes about 30 s here). */
  rolloutRounds: number;
  /** Rows of each history table (operation progress, metric samples). */
  historyRows: number;
  /** Load duration per endpoint, seconds. */
  loadSeconds: number;
  /** Duration of the soak's mixed load, seconds. */
  soakSeconds: number;
  profile: boolean;
  /** Where to keep the raw .cpuprofile files (open them in Chrome DevTools), when set. */
  profileDir?: string;
  /** Extra environment for the gateway (--gateway-env KEY=VALUE), for before/after experiments. */
  gatewayEnv: Record<string, string>;
  out?: string;
  databaseUrl: string;
  dockerSocket: string;
  kubeconfig?: string;
}

export type Backend = 'swarm' | 'kubernetes';

/** What every section gets: one gateway for the whole run, the direct clients, and the cluster names registered in it. */
export interface BenchContext {
  options: Options;
  gateway: GatewayProcess;
  /** Short id in every name the run creates, so a crashed run's leftovers are recognisable. */
  runId: string;
  swarm?: { direct: SwarmDirect; cluster: string };
  kubernetes?: { direct: KubernetesDirect; cluster: string };
  /** Rendered CPU profiles, printed after the tables. */
  profiles: string[];
  /** The gateway's own view of its memory at idle (with profiling). */
  idleMemory?: { before: NodeJS.MemoryUsage; memory: NodeJS.MemoryUsage; heapSpaces: { space_name: string; space_used_size: number; space_size: number }[] };
}

/** Every name the benchmark creates starts with this, so the clean-up can find leftovers. */
export const NAME_PREFIX = 'bench-';
