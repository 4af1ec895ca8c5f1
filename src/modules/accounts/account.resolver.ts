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
      // Read with the credential (AuthService.authenticate); a principal made otherwise reads it now.
      const identity = principal.identity ?? (await this.authService.identity(ctx.em, principal));
      // Deleted after the credential was checked: the caller is nobody now, not a server fault.
      if (!identity) throw unauthenticated('The user of this credential no longer exists');
      const [customer] = leanRows(ctx.em, Customer, [{ id: principal.customerId, name: identity.customerName, created_at: identity.customerCreatedAt }]);
      return { userId: principal.userId, email: identity.email, customer: customer!, authenticatedVia: principal.via };
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
