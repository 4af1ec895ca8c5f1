/**
 * The HTTP calls a script makes against trip-export (REST with `APIToken`, GraphQL over
 * HTTP), with errors that say which call failed and what the service answered.
 */

/** A call that failed; `status` is absent when the service could not be reached at all. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth trying again: the service was unreachable, overloaded or failed inside. */
  get transient(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** `fetch`, with a timeout and network failures turned into an {@link ApiError} that names the cause. */
export async function call(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, ...rest } = init;
  try {
    return await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new ApiError(`${rest.method ?? 'GET'} ${url} failed: ${why}`);
  }
}

/** The `detail` of a JSON error answer, else the start of the body. */
async function describe(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const detail = (JSON.parse(text) as { detail?: unknown }).detail;
    if (typeof detail === 'string') return detail;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || response.statusText;
}

export async function failure(response: Response, what: string): Promise<ApiError> {
  return new ApiError(`${what} answered ${response.status}: ${await describe(response)}`, response.status);
}

/** True when a trip-export service answers `/healthz` at `baseUrl`. */
export async function isServing(baseUrl: string): Promise<boolean> {
  try {
    return (await call(`${baseUrl}/healthz`, { timeoutMs: 2_000 })).ok;
  } catch {
    return false;
  }
}

interface GraphQLAnswer<T> {
  readonly data?: T | null;
  readonly errors?: readonly { message: string; extensions?: { code?: string } }[];
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `APIToken ${this.token}`, ...extra };
  }

  /** A REST call answered with JSON; throws {@link ApiError} on anything but 2xx. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await call(`${this.baseUrl}${path}`, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await failure(response, `${method} ${path}`);
    return (await response.json()) as T;
  }

  /** One GraphQL operation; GraphQL errors become an {@link ApiError} with the first message. */
  async graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await call(`${this.baseUrl}/graphql`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ query, variables }),
    });
    // The first field names the call well enough for an error message.
    const operation = /\{\s*(\w+)/.exec(query)?.[1] ?? 'operation';
    if (!response.ok && response.status !== 400) throw await failure(response, `GraphQL ${operation}`);
    const answer = (await response.json()) as GraphQLAnswer<T>;
    const first = answer.errors?.[0];
    if (first || !answer.data) {
      const status = first?.extensions?.code === 'UNAUTHENTICATED' ? 401 : response.status;
      throw new ApiError(`GraphQL ${operation} failed: ${first?.message ?? 'no data'}`, status);
    }
    return answer.data;
  }

  /** Downloads a file; `filename` comes from `Content-Disposition`. */
  async download(path: string): Promise<{ bytes: Buffer; filename: string | undefined }> {
    const response = await call(`${this.baseUrl}${path}`, { headers: this.headers() });
    if (!response.ok) throw await failure(response, `GET ${path}`);
    const disposition = response.headers.get('content-disposition') ?? '';
    const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1];
    return { bytes: Buffer.from(await response.arrayBuffer()), filename };
  }
}
