import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseFaultKinds } from '../../bench/soak/fault-injector.js';
import { crashReason } from '../../bench/soak/service-instance.js';

/** What Node printed when a pg client without an error handler lost its connection (a soak run). */
const UNHANDLED_PG_ERROR = `{"level":40,"time":1795993019859,"msg":"job runner pool error"}
node:events:502
      throw er; // Unhandled 'error' event
      ^

Error: read ECONNRESET
    at TCP.onStreamRead (node:internal/stream_base_commons:218:20)
    at TCP.callbackTrampoline (node:internal/async_hooks:130:17)
Emitted 'error' event on Client instance at:
    at Client._handleErrorEvent (/work/trip-export/node_modules/pg/lib/client.js:422:10)
    at Connection.emit (node:events:524:28)
    at Socket.reportStreamError (/work/trip-export/node_modules/pg/lib/connection.js:59:12) {
  errno: -104,
  code: 'ECONNRESET',
  syscall: 'read'
}

Node.js v20.20.2
`;

describe('soak crash reports', () => {
  it('name the error and, for an unhandled error event, the emitter that had no handler', () => {
    assert.equal(crashReason(UNHANDLED_PG_ERROR), "Error: read ECONNRESET (Emitted 'error' event on Client instance at Client._handleErrorEvent (pg/lib/client.js:422:10))");
  });

  it('fall back to the last error log line, then to the last line', () => {
    const log = '{"level":30,"msg":"up"}\n{"level":50,"msg":"job runner error","err":{"message":"terminating connection"}}\n{"level":30,"msg":"still up"}\n';
    assert.equal(crashReason(log), 'last error logged: job runner error: terminating connection');
    assert.equal(crashReason('starting\nKilled\n'), 'Killed');
    assert.equal(crashReason(''), '(no output)');
  });
});

describe('soak fault list', () => {
  it('takes known faults in the order given, or none', () => {
    assert.deepEqual(parseFaultKinds('kill, postgres'), ['kill', 'postgres']);
    assert.deepEqual(parseFaultKinds('none'), []);
    assert.throws(() => parseFaultKinds('postgres,flood'), /unknown fault flood/);
  });
});
