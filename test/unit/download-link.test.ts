import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { signDownloadUrl, verifyDownloadSignature } from '../../src/notify/download-link.js';

const config = { jwtSecret: 'test-secret-test-secret-test-secret-0123', publicUrl: 'https://x.example', downloadUrlTtlSeconds: 3600 };

describe('signed download URLs', () => {
  const now = Date.UTC(2026, 10, 25, 8, 0, 0);
  const url = new URL(signDownloadUrl(config, '42', 'cust-a', now));
  const expires = url.searchParams.get('expires');
  const signature = url.searchParams.get('signature');

  it('points at the task result under PUBLIC_URL with an expiry', () => {
    assert.equal(`${url.origin}${url.pathname}`, 'https://x.example/tasks/42/result/');
    assert.equal(Number(expires), now / 1000 + 3600);
  });

  it('verifies for that task and customer until it expires', () => {
    assert.ok(verifyDownloadSignature(config, '42', 'cust-a', expires, signature, now));
    assert.ok(verifyDownloadSignature(config, 42, 'cust-a', expires, signature, now + 3599_000));
    assert.ok(!verifyDownloadSignature(config, '42', 'cust-a', expires, signature, now + 3600_000), 'expired');
  });

  it('refuses another task, another customer, a changed expiry, another key or junk', () => {
    assert.ok(!verifyDownloadSignature(config, '43', 'cust-a', expires, signature, now));
    assert.ok(!verifyDownloadSignature(config, '42', 'cust-b', expires, signature, now));
    assert.ok(!verifyDownloadSignature(config, '42', 'cust-a', String(Number(expires) + 60), signature, now));
    assert.ok(!verifyDownloadSignature({ ...config, jwtSecret: 'another-secret-another-secret-012345' }, '42', 'cust-a', expires, signature, now));
    assert.ok(!verifyDownloadSignature(config, '42', 'cust-a', undefined, signature, now));
    assert.ok(!verifyDownloadSignature(config, '42', 'cust-a', expires, 'AAAA', now));
    assert.ok(!verifyDownloadSignature(config, '42', 'cust-a', '1e12', signature, now));
    assert.ok(!verifyDownloadSignature(config, '42', 'cust-a', [expires], signature, now));
  });
});
