import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';

import { type GraphQLContext, principalOf } from '../../graphql/context.js';
import { unauthenticated } from '../../lib/errors.js';
import { CreateApiTokenPayload, Me } from './account.types.js';
import { ApiToken } from './api-token.entity.js';
import type { AuthService } from './auth.service.js';
import { User } from './user.entity.js';

@Resolver()
export class AccountResolver {
  constructor(private readonly authService: AuthService) {}

  @Authorized()
  @Query(() => Me)
  me(@Ctx() ctx: GraphQLContext): Promise<Me> {
    const principal = principalOf(ctx);
    // Aliases repeat a field: `a1: me … a2400: me` is still one load.
    return ctx.cache.once('me', async () => {
      const user = await ctx.em.findOne(User, { id: principal.userId, customer: principal.customerId }, { populate: ['customer'] });
      // Deleted after the credential was checked: the caller is nobody now, not a server fault.
      if (!user) throw unauthenticated('The user of this credential no longer exists');
      return { userId: user.id, email: user.email, customer: user.customer.getEntity(), authenticatedVia: principal.via };
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
