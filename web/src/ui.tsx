import type { CombinedError } from '@urql/core';
import type { ComponentChildren } from 'preact';

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
