import { Args, Field, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { ComposeService } from './compose.service.js';

@ObjectType('ComposeWarning')
class ComposeWarningType {
  @Field() path!: string;
  @Field() message!: string;
}

@ObjectType('ComposeImport')
class ComposeImportType {
  @Field(() => GraphQLJSONObject, { description: 'The AppSpec the file converts to' }) spec!: object;
  @Field(() => [ComposeWarningType]) warnings!: ComposeWarningType[];
}

@Resolver()
export class ComposeResolver {
  constructor(private readonly compose: ComposeService) {}

  @Query(() => ComposeImportType, { description: 'Converts a Compose file into an AppSpec; nothing is deployed' })
  convertCompose(@Args('yaml') yaml: string, @Args('name', { nullable: true }) name?: string, @Args('strict', { nullable: true }) strict?: boolean) {
    return this.compose.convert(yaml, { name: name ?? undefined, strict: strict ?? false });
  }
}
