/** Who is calling. Every service call that reads or writes tenant data takes one. */
export interface Principal {
  readonly customerId: string;
  readonly userId: string;
  readonly via: 'jwt' | 'api_token';
  readonly tokenId?: string;
  /**
   * Who the caller is, read with the credential in the same statement (authentication joins
   * the user and the customer), so `me` costs no statement of its own. Absent on principals
   * made without authenticating.
   */
  readonly identity?: CallerIdentity;
}

export interface CallerIdentity {
  readonly email: string;
  readonly customerName: string;
  /** ISO-8601, as PostgreSQL printed it. */
  readonly customerCreatedAt: string;
}
