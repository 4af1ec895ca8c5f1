import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Webhook } from 'standardwebhooks';

import { SecretBox } from '../../src/notify/secret-box.js';
import { newWebhookSecret, signWebhook } from '../../src/notify/webhook-signature.js';

describe('webhook signatures (checked with the standardwebhooks package)', () => {
  const body = JSON.stringify({ type: 'trip_export_finished', data: { x: 'ü' } });

  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newWebhookSecret();
    assert.match(secret, /^whsec_/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
    assert.notEqual(newWebhookSecret(), secret);
  });

  it('signs id.timestamp.body so an independent implementation verifies it', () => {
    const secret = newWebhookSecret();
    const ts = Math.floor(Date.now() / 1000);
    const signature = signWebhook([secret], 'msg_1', ts, body);
    assert.equal(signature, new Webhook(secret).sign('msg_1', new Date(ts * 1000), body));
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature };
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(secret).verify(`${body} `, headers));
    assert.throws(() => new Webhook(newWebhookSecret()).verify(body, headers));
  });

  it('signs with every secret during a rotation, each verifying on its own', () => {
    const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const signature = signWebhook([newSecret, oldSecret], 'msg_2', ts, body);
    assert.equal(signature.split(' ').length, 2);
    const headers = { 'webhook-id': 'msg_2', 'webhook-timestamp': String(ts), 'webhook-signature': signature };
    new Webhook(oldSecret).verify(body, headers);
    new Webhook(newSecret).verify(body, headers);
  });

  it('seals secrets so the stored text reveals nothing and tampering is detected', () => {
    const box = new SecretBox('a-root-secret-of-at-least-32-characters!', 'purpose');
    const secret = newWebhookSecret();
    const sealed = box.seal(secret);
    assert.ok(!sealed.includes(secret.slice(6, 20)));
    assert.notEqual(box.seal(secret), sealed, 'a fresh nonce each time');
    assert.equal(box.open(sealed), secret);
    const parts = sealed.split(':');
    parts[3] = Buffer.from('x'.repeat(10)).toString('base64');
    assert.throws(() => box.open(parts.join(':')));
    assert.throws(() => new SecretBox('another-root-secret-of-32-characters!!!', 'purpose').open(sealed));
  });
});
