import type { CombinedError } from '@urql/core';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export const shortId = (id: string): string => id.slice(0, 8);

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

export function bytes(n: number | null | undefined): string {
  if (n == null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function StateBadge({ state }: { state: string | null | undefined }) {
  const value = state ?? 'NONE';
  return <span class={`badge badge-${value.toLowerCase()}`}>{state ?? 'not exported'}</span>;
}

export function ErrorNote({ error }: { error: CombinedError | Error | string | undefined }) {
  if (!error) return null;
  const text = typeof error === 'string' ? error : 'graphQLErrors' in error && error.graphQLErrors.length ? error.graphQLErrors.map((e) => e.message).join('; ') : error.message;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** A value the API shows only once (a token, a signing secret): shown until dismissed. */
export function ShownOnce({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  return (
    <div class="once" role="status">
      <p>
        <strong>{label}</strong> — copy it now, it is not shown again.
      </p>
      <input aria-label={label} readOnly value={value} class="mono" onFocus={(e) => e.currentTarget.select()} />
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A text field of a submitted form, trimmed ('' when absent). */
export function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/** Which page of a connection a screen shows: kept as the end cursors of the pages before it (none on the first). */
export interface Pages {
  /** The `after` cursor of this page (undefined on the first). */
  readonly after: string | undefined;
  /** How many pages come before this one. */
  readonly index: number;
  readonly older: (endCursor: string) => void;
  readonly newer: () => void;
  /** Back to the first page (the filter changed). */
  readonly reset: () => void;
}

export function usePages(): Pages {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    after: cursors.at(-1),
    index: cursors.length,
    older: (endCursor) => setCursors([...cursors, endCursor]),
    newer: () => setCursors(cursors.slice(0, -1)),
    reset: () => setCursors([]),
  };
}

/** Newer and Older buttons over a connection's pages. */
export function Pager({ pages, pageInfo }: { pages: Pages; pageInfo: { hasNextPage: boolean; endCursor?: string | null } | undefined }) {
  const endCursor = pageInfo?.hasNextPage ? pageInfo.endCursor : undefined;
  return (
    <div class="pager">
      <button type="button" disabled={pages.index === 0} onClick={pages.newer}>
        Newer
      </button>
      <button type="button" disabled={!endCursor} onClick={() => endCursor && pages.older(endCursor)}>
        Older
      </button>
    </div>
  );
}
