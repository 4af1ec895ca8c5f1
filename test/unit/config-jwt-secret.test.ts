import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('config: JWT_SECRET', () => {
  it('stops start-up on a secret under 32 bytes or the one published with earlier versions', () => {
    for (const secret of ['short', 'x'.repeat(31), 'dev-only-secret-change-me-please-0123456789']) {
      assert.throws(
        () => loadConfig({ JWT_SECRET: secret }),
        (error: unknown) => error instanceof ConfigError && /JWT_SECRET/.test(error.message),
        secret,
      );
    }
  });

  it('counts bytes, not characters', () => {
    assert.equal(loadConfig({ JWT_SECRET: 'é'.repeat(16) }).jwtSecret, 'é'.repeat(16));
  });

  it('without JWT_SECRET hands out a random candidate, marked to be replaced by the kept one', () => {
    const one = loadConfig({});
    const two = loadConfig({});
    assert.equal(one.jwtSecretGenerated, true);
    assert.notEqual(one.jwtSecret, two.jwtSecret);
    assert.ok(Buffer.byteLength(one.jwtSecret) >= 32);
    assert.equal(loadConfig({ JWT_SECRET: 'a'.repeat(32) }).jwtSecretGenerated, false);
  });
});
