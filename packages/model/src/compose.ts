export { composeKeyOf, importCompose, toDnsLabel, withOrchestratorWarnings, type ComposeImport, type ComposeImportOptions } from './compose/importer.js';
export { interpolateString, parseEnvFile } from './compose/interpolate.js';
export { MAX_ALIAS_EXPANSION, fileKey } from './compose/load.js';
export {
  type ComposeKeyStatus,
  type ComposeReport,
  type ComposeReportEntry,
  type ComposeWarning,
  type Orchestrator,
  type OrchestratorKeyStatus,
  type OrchestratorNote,
  ReportBuilder,
  reportFor,
  summarize,
  warningsOf,
} from './compose/report.js';
export { composeClientFiles, composeEnv } from './compose/client-files.js';
