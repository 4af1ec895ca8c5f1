import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { OutboundError, postOutbound } from '../../src/notify/safe-http.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

describe('outbound HTTP: only public addresses, no redirects', () => {
  let receiver: WebhookReceiver;
  const strict = { allowPrivateNetworks: false, timeoutMs: 2000 };
  const lenient = { allowPrivateNetworks: true, timeoutMs: 2000 };

  before(async () => {
    receiver = await startWebhookReceiver({ status: 200, body: 'ok' });
  });
  after(() => receiver.close());

  const refused = async (url: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(postOutbound(url, {}, '{}', strict), (error: unknown) => {
      assert.ok(error instanceof OutboundError);
      assert.equal(error.kind, 'refused');
      assert.match(error.message, pattern);
      return true;
    });
  };

  it('refuses loopback, private and metadata literals without connecting', async () => {
    const port = new URL(receiver.url).port;
    await refused(`http://127.0.0.1:${port}/`, /127\.0\.0\.1: loopback/);
    await refused(`http://[::1]:${port}/`, /::1: loopback/);
    await refused(`http://[::ffff:127.0.0.1]:${port}/`, /loopback/);
    await refused('http://169.254.169.254/latest/meta-data/', /link-local/);
    await refused('http://10.0.0.1/', /private/);
    await refused('http://0.0.0.0/', /unspecified/);
    assert.equal(receiver.received.length, 0);
  });

  it('refuses a name that resolves to a non-public address, at connect time', async () => {
    const port = new URL(receiver.url).port;
    await refused(`http://localhost:${port}/hook`, /localhost \((127\.0\.0\.1|::1)\).*loopback/);
    assert.equal(receiver.received.length, 0);
  });

  it('refuses schemes other than http and https', async () => {
    await refused('ftp://example.test/x', /only http and https/);
    await refused('file:///etc/passwd', /only http and https/);
  });

  it('reaches loopback only when private networks are allowed, and never follows a redirect', async () => {
    const ok = await postOutbound(receiver.url, { 'x-a': '1' }, '{"a":1}', lenient);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'ok');
    const viaName = await postOutbound(receiver.url.replace('127.0.0.1', 'localhost'), {}, '{}', lenient);
    assert.equal(viaName.status, 200);
    receiver.script({ status: 307, headers: { location: `${receiver.url}/next` } });
    const redirected = await postOutbound(receiver.url, {}, '{}', lenient);
    assert.equal(redirected.status, 307);
    assert.equal(receiver.received.filter((r) => r.path.endsWith('/next')).length, 0);
  });
});
