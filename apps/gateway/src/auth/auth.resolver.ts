import { Args, Field, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { requestContext } from '../common/request-context.js';
import { AuditService } from '../audit/audit.service.js';
import { RequireAccess } from './auth.decorators.js';
import { CreateTokenRequest, TokensService } from './tokens.service.js';
import { TokenGrantInput, TokenRoleGql } from '../graphql/inputs.js';
import { fromGraphqlInput } from '../graphql/zod-graphql.js';
import { PageArgs, pageOf } from '../graphql/pages.js';

@ObjectType('TokenGrant')
class TokenGrantType {
  @Field(() => TokenRoleGql) role!: string;
  @Field({ nullable: true }) cluster?: string;
  @Field({ nullable: true }) app?: string;
}

@ObjectType('Token')
class TokenType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => [TokenGrantType]) grants!: TokenGrantType[];
  @Field({ nullable: true }) createdBy?: string;
  @Field(() => GraphQLDateTime) createdAt!: string;
  @Field(() => GraphQLDateTime, { nullable: true }) expiresAt?: string;
  @Field(() => GraphQLDateTime, { nullable: true }) lastUsedAt?: string;
  @Field(() => GraphQLDateTime, { nullable: true }) revokedAt?: string;
  @Field({ nullable: true, description: 'The secret: only in the answer to createToken' }) token?: string;
}

@ObjectType('AuditEntry')
class AuditEntryType {
  @Field(() => ID) id!: string;
  @Field(() => GraphQLDateTime) time!: string;
  @Field() actor!: string;
  @Field() action!: string;
  @Field({ nullable: true }) target?: string;
  @Field({ nullable: true }) clusterId?: string;
  @Field() result!: string;
  @Field({ nullable: true }) correlationId?: string;
  @Field(() => GraphQLJSONObject) details!: object;
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

  @Query(() => [TokenType])
  apiTokens() {
    return this.tokens.list();
  }

  @Mutation(() => TokenType, { description: 'Creates an API token; its secret is in this answer only' })
  createToken(
    @Args('name') name: string,
    @Args('grants', { type: () => [TokenGrantInput], description: 'What the token may do (at least one grant)' }) grants: object[],
    @Args('expiresAt', { nullable: true }) expiresAt?: string,
  ) {
    return this.tokens.create(
      { name, grants: fromGraphqlInput(CreateTokenRequest.shape.grants, grants), ...(expiresAt ? { expiresAt } : {}) },
      requestContext.principal()!,
    );
  }

  @Mutation(() => TokenType)
  revokeToken(@Args('id') id: string) {
    return this.tokens.revoke(id);
  }

  @Query(() => AuditEntryPageType, { description: 'Audit log, newest first (admins only)' })
  auditLog(@Args() page: PageArgs, @Args('actor', { nullable: true, description: 'Only the entries of this actor ("token:NAME")' }) actor?: string) {
    return this.audit.list({ actor: actor ?? undefined }, pageOf(page));
  }
}
