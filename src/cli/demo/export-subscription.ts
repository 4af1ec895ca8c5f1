/**
 * The `tripExportFinished` subscription over graphql-ws, as a client script would use it.
 * Its fields are read from the running service's schema (introspection), so the demo asks
 * for what the service actually offers, and says so when it offers no such subscription.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import type { ApiClient } from '../../sim/api-client.js';

const SUBSCRIPTION_FIELD = 'tripExportFinished';
/** What to show when the service cannot tell its fields (it has no such subscription yet). */
export const FALLBACK_DOCUMENT = `subscription ExportFinished($deviceId: ID) { ${SUBSCRIPTION_FIELD}(deviceId: $deviceId) { __typename } }`;

interface TypeRef {
  readonly kind: string;
  readonly name: string | null;
  readonly ofType: TypeRef | null;
}
interface FieldInfo {
  readonly name: string;
  readonly args: readonly { name: string }[];
  readonly type: TypeRef;
}
interface SchemaInfo {
  __schema: {
    subscriptionType: { fields: FieldInfo[] } | null;
    types: { name: string; kind: string; fields: FieldInfo[] | null }[];
  };
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';
const INTROSPECTION = `{ __schema {
  subscriptionType { fields { name args { name } type { ${TYPE_REF} } } }
  types { name kind fields { name args { name } type { ${TYPE_REF} } } }
} }`;

const named = (type: TypeRef): TypeRef => (type.ofType ? named(type.ofType) : type);

/**
 * The subscription's document for one device (`{ eventId ... task { id } trip { id } result
 * { bytes sha256 ... } }`); `undefined` when the service has no `tripExportFinished` subscription.
 */
export async function exportFinishedDocument(client: ApiClient): Promise<string | undefined> {
  const { __schema: schema } = await client.graphql<SchemaInfo>(INTROSPECTION);
  const field = schema.subscriptionType?.fields.find((f) => f.name === SUBSCRIPTION_FIELD);
  if (!field) return undefined;
  const types = new Map(schema.types.map((t) => [t.name, t]));
  // Plain fields of the event; of each object in it, its id (or, without one, its plain fields).
  const selection = (type: TypeRef, top: boolean): string => {
    const { kind, name } = named(type);
    if (kind !== 'OBJECT' || !name) return '';
    const fields = (types.get(name)?.fields ?? []).filter((f) => f.args.length === 0);
    if (!top && fields.some((f) => f.name === 'id')) return '{ id }';
    const parts = fields
      .map((f) => {
        const inner = named(f.type);
        if (inner.kind === 'SCALAR' || inner.kind === 'ENUM') return f.name;
        const sub = top ? selection(f.type, false) : '';
        return sub ? `${f.name} ${sub}` : '';
      })
      .filter(Boolean);
    return parts.length ? `{ ${parts.join(' ')} }` : '';
  };
  const hasDevice = field.args.some((a) => a.name === 'deviceId');
  const variables = hasDevice ? '($deviceId: ID)' : '';
  return `subscription ExportFinished${variables} { ${SUBSCRIPTION_FIELD}${hasDevice ? '(deviceId: $deviceId)' : ''} ${selection(field.type, true)} }`;
}

export interface ExportWatch {
  /** Resolves with the first event's data. */
  readonly first: Promise<unknown>;
  close(): Promise<void>;
}

/** Subscribes now, before the trip is uploaded, so the announcement cannot be missed. */
export function watchExports(baseUrl: string, token: string, deviceId: string, document: string): ExportWatch {
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `APIToken ${token}` },
    retryAttempts: 0,
  });
  const first = new Promise<unknown>((resolve, reject) => {
    client.subscribe(
      { query: document, variables: { deviceId } },
      {
        next: (message) => (message.errors?.length ? reject(new Error(message.errors[0]!.message)) : resolve(message.data)),
        error: (error) => reject(error instanceof Error ? error : new Error(`subscription failed: ${JSON.stringify(error)}`)),
        complete: () => reject(new Error('the service ended the subscription')),
      },
    );
  });
  // Settled later by whoever awaits it; an early failure must not crash the process meanwhile.
  first.catch(() => undefined);
  return {
    first,
    close: async () => {
      await client.dispose();
    },
  };
}
