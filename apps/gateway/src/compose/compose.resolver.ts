import { Args, Field, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { composeQueryOptions } from './compose.query.js';
import { ComposeService } from './compose.service.js';

@ObjectType('ComposeWarning')
class ComposeWarningType {
  @Field() path!: string;
  @Field() message!: string;
}

@ObjectType('ComposeOrchestratorNote', { description: 'What one orchestrator makes of a key, where it differs' })
class ComposeOrchestratorNoteType {
  @Field({ description: 'carried, approximated, dropped, or refused (the apply fails on this orchestrator)' }) status!: string;
  @Field() note!: string;
}

@ObjectType('ComposeOrchestratorNotes')
class ComposeOrchestratorNotesType {
  @Field(() => ComposeOrchestratorNoteType, { nullable: true }) swarm?: ComposeOrchestratorNoteType;
  @Field(() => ComposeOrchestratorNoteType, { nullable: true }) kubernetes?: ComposeOrchestratorNoteType;
}

@ObjectType('ComposeReportEntry')
class ComposeReportEntryType {
  @Field({ description: 'the Compose key as written: services.db.healthcheck.retries' }) key!: string;
  @Field({ description: 'carried, approximated or dropped' }) status!: string;
  @Field({ nullable: true, description: 'how it was approximated, or why it was dropped' }) note?: string;
  @Field(() => ComposeOrchestratorNotesType, { nullable: true }) orchestrators?: ComposeOrchestratorNotesType;
}

@ObjectType('ComposeReportSummary')
class ComposeReportSummaryType {
  @Field(() => Int) carried!: number;
  @Field(() => Int) approximated!: number;
  @Field(() => Int) dropped!: number;
}

@ObjectType('ComposeProfiles')
class ComposeProfilesType {
  @Field(() => [String]) active!: string[];
  @Field(() => [String], { description: 'services under profiles not asked for: not deployed, as in Compose' }) skippedServices!: string[];
}

@ObjectType('ComposeReport', { description: 'What became of every key of a Compose file, per orchestrator where they differ' })
class ComposeReportType {
  @Field(() => [ComposeReportEntryType]) entries!: ComposeReportEntryType[];
  @Field(() => ComposeReportSummaryType) summary!: ComposeReportSummaryType;
  @Field(() => ComposeProfilesType) profiles!: ComposeProfilesType;
}

@ObjectType('ComposeImport')
class ComposeImportType {
  @Field(() => GraphQLJSONObject, { description: 'The AppSpec the file converts to' }) spec!: object;
  @Field(() => [ComposeWarningType]) warnings!: ComposeWarningType[];
  @Field(() => ComposeReportType) report!: ComposeReportType;
}

@Resolver()
export class ComposeResolver {
  constructor(private readonly compose: ComposeService) {}

  @Query(() => ComposeImportType, { description: 'Converts a Compose file into an AppSpec with its conversion report; nothing is deployed' })
  convertCompose(
    @Args('yaml') yaml: string,
    @Args('name', { nullable: true }) name?: string,
    @Args('strict', { nullable: true }) strict?: boolean,
    @Args('baseDir', { nullable: true, description: 'absolute folder relative host paths resolve against' }) baseDir?: string,
    @Args('homeDir', { nullable: true, description: 'absolute folder "~" resolves against' }) homeDir?: string,
    @Args('profiles', { type: () => [String], nullable: true, description: 'profiles to enable' }) profiles?: string[],
    @Args('images', { type: () => [String], nullable: true, description: 'SERVICE=IMAGE for build-only services' }) images?: string[],
    @Args('env', { type: () => GraphQLJSONObject, nullable: true, description: 'variables for interpolation' }) env?: Record<string, string>,
    @Args('files', { type: () => GraphQLJSONObject, nullable: true, description: 'env_file and extends.file contents by relative path' })
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
