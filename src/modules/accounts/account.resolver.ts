import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import { unauthenticated } from '../../lib/errors.js';
import { leanRows } from '../../lib/lean.js';
import { CreateApiTokenPayload, Me } from './account.types.js';
import { ApiToken } from './api-token.entity.js';
import type { AuthService } from './auth.service.js';
import { Customer } from './customer.entity.js';

@Resolver()
export class AccountResolver {
  constructor(private readonly authService: AuthService) {}

  @Authorized()
  @Query(() => Me)
  me(@Ctx() ctx: GraphQLContext): Promise<Me> {
    const principal = principalOf(ctx);
    // Aliases repeat a field: `a1: me … a2400: me` is still one load.
    return ctx.cache.once('me', async () => {
      // One statement, read without the ORM (lib/lean.ts): the customer's columns and the e-mail.
      const rows = await ctx.em
        .getConnection()
        .execute<(Record<string, unknown> & { email: string })[]>(
          'SELECT c.*, u.email FROM users u JOIN customers c ON c.id = u.customer_id WHERE u.id = ? AND u.customer_id = ?',
          [principal.userId, principal.customerId],
        );
      // Deleted after the credential was checked: the caller is nobody now, not a server fault.
      if (!rows[0]) throw unauthenticated('The user of this credential no longer exists');
      const [customer] = leanRows(ctx.em, Customer, rows);
      return { userId: principal.userId, email: rows[0].email, customer: customer!, authenticatedVia: principal.via };
    });
  }

  @Authorized()
  @Query(() => [ApiToken], { description: 'Active (not revoked) API tokens of the customer.' })
  apiTokens(@Ctx() ctx: GraphQLContext): Promise<ApiToken[]> {
    return this.authService.listApiTokens(ctx.em, principalOf(ctx));
  }

  @Authorized()
  @Mutation(() => CreateApiTokenPayload)
  createApiToken(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String) name: string,
    @Arg('expiresAt', () => String, { nullable: true }) expiresAt?: string,
  ): Promise<CreateApiTokenPayload> {
    return this.authService.createApiToken(ctx.em, principalOf(ctx), name, expiresAt);
  }

  @Authorized()
  @Mutation(() => ApiToken)
  revokeApiToken(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<ApiToken> {
    return this.authService.revokeApiToken(ctx.em, principalOf(ctx), id);
  }
}
