import { formatPath } from '../validation.js';

/** What became of one key of a Compose file. */
export type ComposeKeyStatus = 'carried' | 'approximated' | 'dropped';
/** On one orchestrator a key may also be refused: the deploy would fail there. */
export type OrchestratorKeyStatus = ComposeKeyStatus | 'refused';
export type Orchestrator = 'swarm' | 'kubernetes';

export interface OrchestratorNote {
  status: OrchestratorKeyStatus;
  note: string;
}

export interface ComposeReportEntry {
  /** The key as the user wrote it: `services.db.healthcheck.retries`, `services.web.ports[0]`. */
  key: string;
  status: ComposeKeyStatus;
  /** How it was approximated, or why it was dropped (absent for keys carried as written). */
  note?: string;
  /** Where an orchestrator differs from `status`. */
  orchestrators?: Partial<Record<Orchestrator, OrchestratorNote>>;
}

export interface ComposeReport {
  entries: ComposeReportEntry[];
  /** Keys per status, each key counted once at its worst status. */
  summary: Record<ComposeKeyStatus, number>;
  /** Profiles asked for; services whose profiles were not asked for are not deployed, as in Compose. */
  profiles: { active: string[]; skippedServices: string[] };
}

/** A warning in the form every answer has carried since the first Compose import: a key and a message. */
export interface ComposeWarning {
  path: string;
  message: string;
}

export type Path = (string | number)[];

const RANK: Record<ComposeKeyStatus, number> = { carried: 0, approximated: 1, dropped: 2 };

/** Collects the report's entries while the importer walks the file. */
export class ReportBuilder {
  readonly entries: ComposeReportEntry[] = [];

  add(path: Path | string, status: ComposeKeyStatus, note?: string, orchestrators?: ComposeReportEntry['orchestrators']): void {
    const key = typeof path === 'string' ? path : formatPath(path);
    this.entries.push({ key, status, ...(note ? { note } : {}), ...(orchestrators ? { orchestrators } : {}) });
  }

  carried(path: Path, orchestrators?: ComposeReportEntry['orchestrators']): void {
    this.add(path, 'carried', undefined, orchestrators);
  }

  approximated(path: Path, how: string, orchestrators?: ComposeReportEntry['orchestrators']): void {
    this.add(path, 'approximated', how, orchestrators);
  }

  dropped(path: Path, why: string): void {
    this.add(path, 'dropped', why);
  }

  /** Adds what an orchestrator's plan said about a key (in plan answers, for the cluster's orchestrator). */
  orchestratorNote(key: string, orchestrator: Orchestrator, note: OrchestratorNote): void {
    // the entry of the key, or of the nearest key above it that the report names (a driver may name a field inside a mount)
    const within = (e: ComposeReportEntry) => key === e.key || key.startsWith(`${e.key}.`) || key.startsWith(`${e.key}[`);
    const entry = this.entries.filter(within).sort((a, b) => b.key.length - a.key.length)[0];
    if (!entry) {
      this.entries.push({ key, status: 'carried', orchestrators: { [orchestrator]: note } });
      return;
    }
    const previous = entry.orchestrators?.[orchestrator];
    const strength: Record<OrchestratorKeyStatus, number> = { carried: 0, approximated: 1, dropped: 2, refused: 3 };
    const merged = previous
      ? { status: strength[previous.status] >= strength[note.status] ? previous.status : note.status, note: `${previous.note}; ${note.note}` }
      : note;
    entry.orchestrators = { ...entry.orchestrators, [orchestrator]: merged };
  }

  build(profiles: ComposeReport['profiles']): ComposeReport {
    return { entries: this.entries, summary: summarize(this.entries), profiles };
  }
}

export function summarize(entries: ComposeReportEntry[]): Record<ComposeKeyStatus, number> {
  const worst = new Map<string, ComposeKeyStatus>();
  for (const e of entries) {
    const was = worst.get(e.key);
    if (!was || RANK[e.status] > RANK[was]) worst.set(e.key, e.status);
  }
  const summary = { carried: 0, approximated: 0, dropped: 0 };
  for (const s of worst.values()) summary[s]++;
  return summary;
}

/** The warnings view of a report: every key not carried as written, with how or why. */
export function warningsOf(report: ComposeReport): ComposeWarning[] {
  return report.entries.filter((e) => e.status !== 'carried').map((e) => ({ path: e.key, message: e.note ?? e.status }));
}

/**
 * The entries an orchestrator changes: its own status where it differs, so that a user reads what the
 * file becomes on that orchestrator.
 */
export function reportFor(report: ComposeReport, orchestrator: Orchestrator): ComposeReportEntry[] {
  return report.entries.map((e) => {
    const o = e.orchestrators?.[orchestrator];
    return o ? { key: e.key, status: o.status === 'refused' ? 'dropped' : o.status, note: o.status === 'refused' ? `refused: ${o.note}` : o.note } : e;
  });
}
