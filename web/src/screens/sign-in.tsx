import { useState } from 'preact/hooks';

import { authorizationForToken, login } from '../session.js';
import { ErrorNote } from '../ui.js';

export function SignIn({ onSignedIn }: { onSignedIn: (authorization: string) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');

  const submitLogin = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await login(email, password));
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  const submitToken = (event: Event) => {
    event.preventDefault();
    if (token.trim()) onSignedIn(authorizationForToken(token));
  };
  return (
    <main class="sign-in">
      <h1>trip-export</h1>
      <form onSubmit={submitLogin} aria-label="Sign in with e-mail">
        <label>
          E-mail
          <input type="email" name="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <ErrorNote error={error} />
      <details>
        <summary>Use an API token instead</summary>
        <form onSubmit={submitToken} aria-label="Sign in with an API token">
          <label>
            API token
            <input type="password" name="token" autoComplete="off" placeholder="tex_…" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
          <button type="submit">Use token</button>
        </form>
      </details>
    </main>
  );
}
