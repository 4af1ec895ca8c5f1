/** Who is calling. Every service call that reads or writes tenant data takes one. */
export interface Principal {
  readonly customerId: string;
  readonly userId: string;
  readonly via: 'jwt' | 'api_token';
  readonly tokenId?: string;
}
