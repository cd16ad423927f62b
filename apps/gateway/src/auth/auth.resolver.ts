import { Args, Field, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { requestContext } from '../common/request-context.js';
import { AuditService } from '../audit/audit.service.js';
import { RequireAccess } from './auth.decorators.js';
import { CreateTokenRequest, TokensService } from './tokens.service.js';
import { TokenGrantInput, TokenRoleGql } from '../graphql/inputs.js';
import { fromGraphqlInput } from '../graphql/zod-graphql.js';
import { PageArgs, pageOf } from '../graphql/pages.js';

@ObjectType('TokenGrant', { description: 'One thing a token may do: a role, on every cluster or one, on every app or one' })
class TokenGrantType {
  @Field(() => TokenRoleGql, { description: 'The role' }) role!: string;
  @Field({ nullable: true, description: 'The cluster it applies to; absent: every cluster' }) cluster?: string;
  @Field({ nullable: true, description: 'The app it applies to; absent: every app' }) app?: string;
}

@ObjectType('Token', { description: 'An API token (its secret is shown once, when it is created)' })
class TokenType {
  @Field(() => ID, { description: 'The token id' }) id!: string;
  @Field({ description: 'Its name, shown in audit entries and operations' }) name!: string;
  @Field(() => [TokenGrantType], { description: 'What it may do' }) grants!: TokenGrantType[];
  @Field({ nullable: true, description: 'The token that created it' }) createdBy?: string;
  @Field(() => GraphQLDateTime, { description: 'When it was created' }) createdAt!: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it stops working' }) expiresAt?: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it was last used' }) lastUsedAt?: string;
  @Field(() => GraphQLDateTime, { nullable: true, description: 'When it was revoked' }) revokedAt?: string;
  @Field({ nullable: true, description: 'The secret: only in the answer to createToken' }) token?: string;
}

@ObjectType('AuditEntry', { description: 'One recorded action: who did what to what, and how it ended' })
class AuditEntryType {
  @Field(() => ID, { description: 'The entry id' }) id!: string;
  @Field(() => GraphQLDateTime, { description: 'When it happened' }) time!: string;
  @Field({ description: 'Who did it (token:NAME)' }) actor!: string;
  @Field({ description: 'What was done: "POST /v1/clusters/:cluster/apps" or "mutation applyApp"' }) action!: string;
  @Field({ nullable: true, description: 'What it was done to' }) target?: string;
  @Field({ nullable: true, description: 'The cluster it was done on' }) clusterId?: string;
  @Field({ description: 'How it ended: succeeded, failed:<code> or denied:<code>' }) result!: string;
  @Field({ nullable: true, description: 'The request id, also in the gateway log' }) correlationId?: string;
  @Field(() => GraphQLJSONObject, { description: 'What else was recorded about it' }) details!: object;
}

@ObjectType('AuditEntryPage', { description: 'A page of audit entries, newest first' })
class AuditEntryPageType {
  @Field(() => [AuditEntryType], { description: 'The entries of this page' }) items!: AuditEntryType[];
  @Field({ nullable: true, description: 'Give it as after for the next page; absent on the last page' }) nextCursor?: string;
}

@Resolver()
@RequireAccess('admin')
export class AuthResolver {
  constructor(
    private readonly tokens: TokensService,
    private readonly audit: AuditService,
  ) {}

  @Query(() => [TokenType], { description: 'The API tokens (never their secrets)' })
  apiTokens() {
    return this.tokens.list();
  }

  @Mutation(() => TokenType, { description: 'Creates an API token; its secret is in this answer only' })
  createToken(
    @Args('name', { description: 'A name for the token, shown in audit entries and operations' }) name: string,
    @Args('grants', { type: () => [TokenGrantInput], description: 'What the token may do (at least one grant)' }) grants: object[],
    @Args('expiresAt', { nullable: true, description: 'When the token stops working (ISO 8601; default: never)' }) expiresAt?: string,
  ) {
    return this.tokens.create(
      { name, grants: fromGraphqlInput(CreateTokenRequest.shape.grants, grants), ...(expiresAt ? { expiresAt } : {}) },
      requestContext.principal()!,
    );
  }

  @Mutation(() => TokenType, { description: 'Revokes a token at once; audited' })
  revokeToken(@Args('id', { description: 'The token id' }) id: string) {
    return this.tokens.revoke(id);
  }

  @Query(() => AuditEntryPageType, { description: 'Audit log, newest first (admins only)' })
  auditLog(@Args() page: PageArgs, @Args('actor', { nullable: true, description: 'Only the entries of this actor ("token:NAME")' }) actor?: string) {
    return this.audit.list({ actor: actor ?? undefined }, pageOf(page));
  }
}
