/**
 * Who the dashboard is signed in as: the Authorization header value, kept in localStorage so a
 * reload stays signed in. A JWT from `POST /auth/login/` is sent as `Bearer`, a pasted API
 * token (tex_…) as `APIToken`, exactly as every other client sends them.
 */
const KEY = 'trip-export.authorization';

export function storedAuthorization(): string | undefined {
  return localStorage.getItem(KEY) ?? undefined;
}

export function storeAuthorization(value: string | undefined): void {
  if (value) localStorage.setItem(KEY, value);
  else localStorage.removeItem(KEY);
}

export function authorizationForToken(token: string): string {
  const trimmed = token.trim();
  return trimmed.startsWith('tex_') ? `APIToken ${trimmed}` : `Bearer ${trimmed}`;
}

/** E-mail and password for a JWT; the error text is the service's own message. */
export async function login(email: string, password: string): Promise<string> {
  const response = await fetch('/auth/login/', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; message?: string; error?: string };
  if (!response.ok || !body.token) throw new Error(body.message ?? body.error ?? `Sign-in failed (${response.status})`);
  return `Bearer ${body.token}`;
}
