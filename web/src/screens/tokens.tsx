import { useMutation, useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';

import { ApiTokensDocument, CreateApiTokenDocument, RevokeApiTokenDocument } from '../generated/graphql.js';
import { ErrorNote, field, Section, ShownOnce, when } from '../ui.js';

export function TokensScreen() {
  const [list, refetch] = useQuery({ query: ApiTokensDocument, requestPolicy: 'network-only' });
  const [created, create] = useMutation(CreateApiTokenDocument);
  const [revoked, revoke] = useMutation(RevokeApiTokenDocument);
  const [shown, setShown] = useState<string>();
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const onCreate = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const expires = field(data, 'expiresAt');
    const done = await create({ name: field(data, 'name'), expiresAt: expires ? new Date(`${expires}T00:00:00Z`).toISOString() : undefined });
    if (done.data) {
      setShown(done.data.createApiToken.token);
      form.reset();
      reload();
    }
  };
  return (
    <Section title="API tokens">
      <form class="inline" onSubmit={onCreate} aria-label="Create an API token">
        <label>
          Name
          <input name="name" required />
        </label>
        <label>
          Expires (optional)
          <input name="expiresAt" type="date" />
        </label>
        <button type="submit" disabled={created.fetching}>
          Create token
        </button>
      </form>
      <ErrorNote error={created.error ?? revoked.error ?? list.error} />
      {shown && <ShownOnce label="New API token" value={shown} onDone={() => setShown(undefined)} />}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.apiTokens.map((token) => (
              <tr key={token.id}>
                <td>{token.name}</td>
                <td class="mono">{token.prefix}…</td>
                <td>{when(token.createdAt)}</td>
                <td>{when(token.expiresAt)}</td>
                <td>{when(token.lastUsedAt)}</td>
                <td>
                  <button
                    type="button"
                    aria-label={`Revoke ${token.name}`}
                    onClick={async () => confirm(`Revoke ${token.name}?`) && !(await revoke({ id: token.id })).error && reload()}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
