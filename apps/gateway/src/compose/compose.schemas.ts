import { z } from 'zod';
import { AppSpec } from '@berth/model';

const Status = z.enum(['carried', 'approximated', 'dropped']);
const OrchestratorNote = z.object({
  status: z.enum(['carried', 'approximated', 'dropped', 'refused']).describe('refused: the apply fails on this orchestrator'),
  note: z.string(),
});

export const ComposeReportSchema = z
  .object({
    entries: z.array(
      z.object({
        key: z.string().describe('the Compose key as written: services.db.healthcheck.retries, services.web.ports[0]'),
        status: Status,
        note: z.string().optional().describe('how the key was approximated, or why it was dropped'),
        orchestrators: z
          .object({ swarm: OrchestratorNote.optional(), kubernetes: OrchestratorNote.optional() })
          .optional()
          .describe('where an orchestrator differs from status'),
      }),
    ),
    summary: z.object({ carried: z.number().int(), approximated: z.number().int(), dropped: z.number().int() }).describe('keys per status, each at its worst'),
    profiles: z.object({
      active: z.array(z.string()),
      skippedServices: z.array(z.string()).describe('services whose profiles were not asked for: not deployed, as in Compose'),
    }),
  })
  .describe('What became of every key of the Compose file: carried, approximated (how) or dropped (why), per orchestrator where they differ');

export const ComposeImportSchema = z.object({
  spec: AppSpec,
  warnings: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .describe('every key not carried as written (the report entries that are not "carried")'),
  report: ComposeReportSchema,
});

/** The import options of a Compose file, in a JSON body (`POST /v1/compose/convert`) or as query parameters. */
export const ComposeConvertRequest = z.strictObject({
  compose: z.string().min(1).describe('the Compose file (YAML)'),
  name: z.string().optional().describe('app name (default: the file\'s top-level "name")'),
  strict: z.boolean().optional().describe('refuse the file (400) when any key is not carried as written'),
  env: z.record(z.string(), z.string()).optional().describe("variables for interpolation (the client's environment and its .env file)"),
  profiles: z.array(z.string()).optional().describe('profiles to enable; services under other profiles are not deployed'),
  baseDir: z.string().optional().describe('absolute folder relative host paths ("./config") resolve against: the Compose file\'s folder'),
  homeDir: z.string().optional().describe('absolute folder "~" resolves against'),
  images: z.record(z.string(), z.string()).optional().describe("image per service: for build-only services, or to replace the file's"),
  files: z.record(z.string(), z.string()).optional().describe('contents of the env_file and extends.file files, by path relative to the Compose file'),
  secretValues: z
    .record(z.string(), z.string())
    .optional()
    .describe("values of the file's secrets by their Compose name, read by the client from their file or variable; write-only"),
});
export type ComposeConvertRequest = z.infer<typeof ComposeConvertRequest>;
