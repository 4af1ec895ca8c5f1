/** Small HTTP helpers: what a script or a dashboard would send, nothing more. */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

export interface JsonResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export async function request<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; auth?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `APIToken ${options.token}`;
  if (options.auth) headers.authorization = options.auth;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

export interface GraphQLResponse<T> {
  readonly data?: T | null;
  readonly errors?: { message: string; extensions?: { code?: string; [key: string]: unknown }; path?: unknown[] }[];
}

/**
 * Sends one GraphQL operation. Pass a typed document from `test/generated/graphql.ts`
 * (codegen) to get typed data and variables, or a string for ad-hoc queries.
 */
export async function gql<T = Record<string, unknown>, V extends Record<string, unknown> = Record<string, unknown>>(
  baseUrl: string,
  query: string | TypedDocumentNode<T, V>,
  variables: V = {} as V,
  token?: string,
): Promise<GraphQLResponse<T>> {
  const response = await request<GraphQLResponse<T>>(baseUrl, 'POST', '/graphql', {
    body: { query: typeof query === 'string' ? query : print(query), variables },
    auth: token ? (token.startsWith('tex_') ? `APIToken ${token}` : `Bearer ${token}`) : undefined,
  });
  return response.body;
}
