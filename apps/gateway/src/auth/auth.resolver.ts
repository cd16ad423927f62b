import { Args, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { requestContext } from '../common/request-context.js';
import { AuditService } from '../audit/audit.service.js';
import { RequireAccess } from './auth.decorators.js';
import { TokensService } from './tokens.service.js';

@ObjectType('TokenGrant')
class TokenGrantType {
  @Field() role!: string;
  @Field({ nullable: true }) cluster?: string;
  @Field({ nullable: true }) app?: string;
}

@ObjectType('Token')
class TokenType {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => [TokenGrantType]) grants!: TokenGrantType[];
  @Field({ nullable: true }) createdBy?: string;
  @Field() createdAt!: string;
  @Field({ nullable: true }) expiresAt?: string;
  @Field({ nullable: true }) lastUsedAt?: string;
  @Field({ nullable: true }) revokedAt?: string;
  @Field({ nullable: true, description: 'The secret: only in the answer to createToken' }) token?: string;
}

@ObjectType('AuditEntry')
class AuditEntryType {
  @Field(() => ID) id!: string;
  @Field() time!: string;
  @Field() actor!: string;
  @Field() action!: string;
  @Field({ nullable: true }) target?: string;
  @Field({ nullable: true }) clusterId?: string;
  @Field() result!: string;
  @Field({ nullable: true }) correlationId?: string;
  @Field(() => GraphQLJSONObject) details!: object;
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

  @Mutation(() => TokenType, { description: 'grants: [{ role, cluster?, app? }]' })
  createToken(
    @Args('name') name: string,
    @Args('grants', { type: () => [GraphQLJSONObject] }) grants: object[],
    @Args('expiresAt', { nullable: true }) expiresAt?: string,
  ) {
    return this.tokens.create({ name, grants, ...(expiresAt ? { expiresAt } : {}) }, requestContext.principal()!);
  }

  @Mutation(() => TokenType)
  revokeToken(@Args('id') id: string) {
    return this.tokens.revoke(id);
  }

  @Query(() => [AuditEntryType], { description: 'Audit log, newest first (admins only)' })
  async auditLog(@Args('actor', { nullable: true }) actor?: string, @Args('limit', { type: () => Int, defaultValue: 100 }) limit?: number) {
    return (await this.audit.list({ actor: actor ?? undefined }, { limit: Math.min(limit ?? 100, 500) })).items;
  }
}
