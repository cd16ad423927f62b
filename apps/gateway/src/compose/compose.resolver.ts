import { Args, Field, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { composeQueryOptions } from './compose.query.js';
import { ComposeService } from './compose.service.js';

@ObjectType('ComposeWarning', { description: 'A note on the Compose file that does not stop the import' })
class ComposeWarningType {
  @Field({ description: 'The Compose key the warning is about, as written: services.web.ports' }) path!: string;
  @Field({ description: 'What was noticed and what to do about it' }) message!: string;
}

@ObjectType('ComposeOrchestratorNote', { description: 'What one orchestrator makes of a key, where it differs' })
class ComposeOrchestratorNoteType {
  @Field({ description: 'Carried, approximated, dropped, or refused (the apply fails on this orchestrator)' }) status!: string;
  @Field({ description: 'How this orchestrator carries the key, or why it cannot' }) note!: string;
}

@ObjectType('ComposeOrchestratorNotes', { description: 'Per-orchestrator notes on a key, present where Swarm and Kubernetes differ' })
class ComposeOrchestratorNotesType {
  @Field(() => ComposeOrchestratorNoteType, { nullable: true, description: 'The note for Docker Swarm, when it differs' }) swarm?: ComposeOrchestratorNoteType;
  @Field(() => ComposeOrchestratorNoteType, { nullable: true, description: 'The note for Kubernetes, when it differs' })
  kubernetes?: ComposeOrchestratorNoteType;
}

@ObjectType('ComposeReportEntry', { description: 'What became of one key of the Compose file' })
class ComposeReportEntryType {
  @Field({ description: 'The Compose key as written: services.db.healthcheck.retries' }) key!: string;
  @Field({ description: 'Carried, approximated or dropped' }) status!: string;
  @Field({ nullable: true, description: 'How it was approximated, or why it was dropped' }) note?: string;
  @Field(() => ComposeOrchestratorNotesType, { nullable: true, description: 'Notes per orchestrator where they treat the key differently' })
  orchestrators?: ComposeOrchestratorNotesType;
}

@ObjectType('ComposeReportSummary', { description: 'How many keys were carried, approximated and dropped' })
class ComposeReportSummaryType {
  @Field(() => Int, { description: 'Keys carried as written' }) carried!: number;
  @Field(() => Int, { description: 'Keys carried with a different meaning or a nearest equivalent' }) approximated!: number;
  @Field(() => Int, { description: 'Keys ignored: they have no effect on the deployed app' }) dropped!: number;
}

@ObjectType('ComposeProfiles', { description: 'The Compose profiles of the import' })
class ComposeProfilesType {
  @Field(() => [String], { description: 'Profiles enabled for this import' }) active!: string[];
  @Field(() => [String], { description: 'Services under profiles not asked for: not deployed, as in Compose' }) skippedServices!: string[];
}

@ObjectType('ComposeReport', { description: 'What became of every key of a Compose file, per orchestrator where they differ' })
class ComposeReportType {
  @Field(() => [ComposeReportEntryType], { description: 'One entry per key of the file' }) entries!: ComposeReportEntryType[];
  @Field(() => ComposeReportSummaryType, { description: 'Counts of the entries by status' }) summary!: ComposeReportSummaryType;
  @Field(() => ComposeProfilesType, { description: 'Profiles enabled and services they left out' }) profiles!: ComposeProfilesType;
}

@ObjectType('ComposeImport', { description: 'A Compose file converted to an AppSpec, with what became of each key' })
class ComposeImportType {
  @Field(() => GraphQLJSONObject, { description: 'The AppSpec the file converts to' }) spec!: object;
  @Field(() => [ComposeWarningType], { description: 'Notes on the file that did not stop the import' }) warnings!: ComposeWarningType[];
  @Field(() => ComposeReportType, { description: 'What became of every key, per orchestrator where they differ' }) report!: ComposeReportType;
}

@Resolver()
export class ComposeResolver {
  constructor(private readonly compose: ComposeService) {}

  @Query(() => ComposeImportType, { description: 'Converts a Compose file into an AppSpec with its conversion report; nothing is deployed' })
  convertCompose(
    @Args('yaml', { description: 'The Compose file, as YAML' }) yaml: string,
    @Args('name', { nullable: true, description: 'The app name, when the file has no top-level name' }) name?: string,
    @Args('strict', { nullable: true, description: 'Refuse the file when any key is not carried as written' }) strict?: boolean,
    @Args('baseDir', { nullable: true, description: 'Absolute folder relative host paths resolve against' }) baseDir?: string,
    @Args('homeDir', { nullable: true, description: 'Absolute folder "~" resolves against' }) homeDir?: string,
    @Args('profiles', { type: () => [String], nullable: true, description: 'Profiles to enable' }) profiles?: string[],
    @Args('images', { type: () => [String], nullable: true, description: 'SERVICE=IMAGE for build-only services' }) images?: string[],
    @Args('env', { type: () => GraphQLJSONObject, nullable: true, description: 'Variables for interpolation' }) env?: Record<string, string>,
    @Args('files', { type: () => GraphQLJSONObject, nullable: true, description: 'Contents of env_file and extends.file files, by relative path' })
    files?: Record<string, string>,
  ) {
    const defined = <T>(v: T | null | undefined) => v ?? undefined;
    return this.compose.convertRequest({
      compose: yaml,
      name: defined(name),
      strict: defined(strict),
      baseDir: defined(baseDir),
      homeDir: defined(homeDir),
      profiles: defined(profiles),
      images: images ? composeQueryOptions({ image: images }).images : undefined,
      env: defined(env),
      files: defined(files),
    });
  }
}
