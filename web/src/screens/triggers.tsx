import { useMutation, useQuery } from '@urql/preact';
import { useState } from 'preact/hooks';

import {
  CreateTriggerDocument,
  type CreateTriggerInput,
  DeleteTriggerDocument,
  DeliveriesDocument,
  RedeliverDocument,
  RotateTriggerSecretDocument,
  TestTriggerDocument,
  type TestTriggerMutation,
  type TriggerFieldsFragment,
  TriggersDocument,
  UpdateTriggerDocument,
} from '../generated/graphql.js';
import { useLiveRefetch } from '../live.js';
import { ErrorNote, field, Section, shortId, ShownOnce, when } from '../ui.js';

export function TriggersScreen() {
  const [list, refetch] = useQuery({ query: TriggersDocument, requestPolicy: 'network-only' });
  const [editing, setEditing] = useState<TriggerFieldsFragment | 'new'>();
  const [secret, setSecret] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const reload = () => refetch({ requestPolicy: 'network-only' });
  return (
    <>
      <Section title="Triggers">
        <button type="button" onClick={() => setEditing('new')}>
          New trigger
        </button>
        {secret && <ShownOnce label="Webhook signing secret" value={secret} onDone={() => setSecret(undefined)} />}
        {editing && (
          <TriggerForm
            trigger={editing === 'new' ? undefined : editing}
            devices={list.data?.devices ?? []}
            onDone={(newSecret) => {
              setEditing(undefined);
              if (newSecret) setSecret(newSecret);
              reload();
            }}
          />
        )}
        <ErrorNote error={list.error} />
        <ul class="cards">
          {list.data?.triggers.map((trigger) => (
            <TriggerCard
              key={trigger.id}
              trigger={trigger}
              onEdit={() => setEditing(trigger)}
              onSecret={setSecret}
              onChanged={reload}
              onDeliveries={() => setSelected(trigger.id)}
            />
          ))}
        </ul>
      </Section>
      <Deliveries triggerId={selected} onAll={() => setSelected(undefined)} />
    </>
  );
}

function TriggerCard(props: { trigger: TriggerFieldsFragment; onEdit: () => void; onSecret: (s: string) => void; onChanged: () => void; onDeliveries: () => void }) {
  const { trigger } = props;
  const [tested, test] = useMutation(TestTriggerDocument);
  const [results, setResults] = useState<TestTriggerMutation['testTrigger']>();
  const [rotated, rotate] = useMutation(RotateTriggerSecretDocument);
  const [deleted, remove] = useMutation(DeleteTriggerDocument);
  const name = trigger.description || trigger.id;
  return (
    <li class="card" aria-label={`Trigger ${name}`}>
      <h3>
        {name} <small>{trigger.type === 'SIGNAL' ? `on ${trigger.signal ?? ''}` : `on event ${trigger.eventTag ?? ''}`}</small>
      </h3>
      <p>
        {trigger.enabled ? 'enabled' : 'disabled'} · {trigger.device ? `device ${trigger.device.name}` : 'every device'} · last fired {when(trigger.lastTriggered)}
      </p>
      {trigger.actions.webhook && <p class="mono wrap">webhook {trigger.actions.webhook.url}</p>}
      {trigger.actions.email && <p>e-mail {trigger.actions.email.recipients.join(', ')}</p>}
      {trigger.lastError && <p class="error">{trigger.lastError}</p>}
      <div class="actions">
        <button type="button" aria-label={`Edit ${name}`} onClick={props.onEdit}>
          Edit
        </button>
        <button type="button" aria-label={`Test ${name}`} disabled={tested.fetching} onClick={async () => setResults((await test({ id: trigger.id })).data?.testTrigger)}>
          Test
        </button>
        {trigger.actions.webhook && (
          <button
            type="button"
            aria-label={`Rotate secret of ${name}`}
            onClick={async () => {
              const done = await rotate({ id: trigger.id });
              if (done.data) props.onSecret(done.data.rotateTriggerSecret.webhookSecret);
            }}
          >
            Rotate secret
          </button>
        )}
        <button type="button" aria-label={`Deliveries of ${name}`} onClick={props.onDeliveries}>
          Deliveries
        </button>
        <button type="button" aria-label={`Delete ${name}`} onClick={async () => confirm(`Delete ${name}?`) && !(await remove({ id: trigger.id })).error && props.onChanged()}>
          Delete
        </button>
      </div>
      {results && (
        <ul class="test-results" aria-label={`Test results of ${name}`}>
          {results.map((r) => (
            <li key={r.channel}>
              {r.channel}: {r.succeeded ? 'delivered' : 'failed'}
              {r.statusCode != null && ` (${r.statusCode})`} in {r.durationMs} ms{r.error && ` — ${r.error}`}
            </li>
          ))}
        </ul>
      )}
      <ErrorNote error={tested.error ?? rotated.error ?? deleted.error} />
    </li>
  );
}

function TriggerForm({ trigger, devices, onDone }: { trigger?: TriggerFieldsFragment; devices: { id: string; name: string }[]; onDone: (secret?: string) => void }) {
  const [type, setType] = useState(trigger?.type ?? 'SIGNAL');
  const [created, create] = useMutation(CreateTriggerDocument);
  const [updated, update] = useMutation(UpdateTriggerDocument);
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => field(form, name);
    const url = text('webhookUrl');
    const recipients = text('recipients')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    const input: CreateTriggerInput = {
      type,
      description: text('description'),
      enabled: form.get('enabled') === 'on',
      deviceId: text('deviceId') || null,
      minIntervalSeconds: text('minIntervalSeconds') ? Number(text('minIntervalSeconds')) : undefined,
      ...(type === 'SIGNAL' ? { signal: text('signal') || 'trip_export_finished' } : { eventTag: text('eventTag') }),
      webhook: url ? { url, bodyTemplate: text('bodyTemplate') || null } : null,
      email: recipients.length ? { recipients } : null,
    };
    if (trigger) {
      const { type: _type, ...changes } = input;
      const done = await update({ id: trigger.id, input: { ...changes, type } });
      if (!done.error) onDone();
    } else {
      const done = await create({ input });
      if (done.data) onDone(done.data.createTrigger.webhookSecret);
    }
  };
  return (
    <form class="stack" onSubmit={onSubmit} aria-label={trigger ? 'Edit trigger' : 'New trigger'}>
      <fieldset>
        <legend>Fires on</legend>
        <label>
          <input type="radio" name="type" value="SIGNAL" checked={type === 'SIGNAL'} onChange={() => setType('SIGNAL')} /> a signal
        </label>
        <label>
          <input type="radio" name="type" value="EVENT" checked={type === 'EVENT'} onChange={() => setType('EVENT')} /> a device event
        </label>
      </fieldset>
      <label>
        Description
        <input name="description" required value={trigger?.description ?? ''} />
      </label>
      {type === 'SIGNAL' ? (
        <label>
          Signal
          <select name="signal" value={trigger?.signal ?? 'trip_export_finished'}>
            <option value="trip_export_finished">trip_export_finished</option>
          </select>
        </label>
      ) : (
        <label>
          Event tag pattern
          <input name="eventTag" required placeholder="vehicle/engine/*" value={trigger?.eventTag ?? ''} />
        </label>
      )}
      <label>
        Device
        <select name="deviceId" value={trigger?.device?.id ?? ''}>
          <option value="">every device</option>
          {devices.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Webhook URL
        <input name="webhookUrl" type="url" value={trigger?.actions.webhook?.url ?? ''} />
      </label>
      <label>
        Body template (optional)
        <textarea name="bodyTemplate" rows={2} value={trigger?.actions.webhook?.bodyTemplate ?? ''} />
      </label>
      <label>
        E-mail recipients (comma separated)
        <input name="recipients" value={trigger?.actions.email?.recipients.join(', ') ?? ''} />
      </label>
      <label>
        Minimum seconds between firings
        <input name="minIntervalSeconds" type="number" min="0" value={trigger?.minIntervalSeconds ?? ''} />
      </label>
      <label class="check">
        <input name="enabled" type="checkbox" checked={trigger?.enabled ?? true} /> Enabled
      </label>
      <div class="actions">
        <button type="submit" disabled={created.fetching || updated.fetching}>
          {trigger ? 'Save trigger' : 'Create trigger'}
        </button>
        <button type="button" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
      <ErrorNote error={created.error ?? updated.error} />
    </form>
  );
}

function Deliveries({ triggerId, onAll }: { triggerId?: string; onAll: () => void }) {
  const [list, refetch] = useQuery({ query: DeliveriesDocument, variables: { triggerId, first: 50, offset: 0 }, requestPolicy: 'network-only' });
  const [redelivered, redeliver] = useMutation(RedeliverDocument);
  // Deliveries follow finished exports (and reconnects), not every task or trip change.
  useLiveRefetch(() => refetch({ requestPolicy: 'network-only' }), { fetching: list.fetching, concerns: (event) => event.kind === 'export' });
  return (
    <Section title="Deliveries">
      {triggerId && (
        <button type="button" onClick={onAll}>
          Show every trigger's deliveries
        </button>
      )}
      <button type="button" onClick={() => refetch({ requestPolicy: 'network-only' })}>
        Refresh deliveries
      </button>
      <ErrorNote error={list.error ?? redelivered.error} />
      {list.data?.deliveries.length === 0 && <p>No deliveries yet.</p>}
      <ul class="cards">
        {list.data?.deliveries.map((d) => (
          <li class="card" key={d.id} aria-label={`Delivery ${shortId(d.id)}`}>
            <p>
              <strong>{d.state}</strong> · {d.channel} · {d.reason} · task {d.taskId} · trigger {d.trigger.description} · {d.attempts} attempt(s)
            </p>
            <ol class="attempts">
              {d.attemptLog.map((a) => (
                <li key={a.id}>
                  #{a.number} {when(a.startedAt)} {a.succeeded ? 'succeeded' : 'failed'}
                  {a.statusCode != null && ` (${a.statusCode})`} in {a.durationMs} ms{a.error && ` — ${a.error}`}
                </li>
              ))}
            </ol>
            {(d.state === 'DELIVERED' || d.state === 'FAILED') && (
              <button
                type="button"
                aria-label={`Redeliver ${shortId(d.id)}`}
                onClick={async () => !(await redeliver({ deliveryId: d.id })).error && refetch({ requestPolicy: 'network-only' })}
              >
                Redeliver
              </button>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}
