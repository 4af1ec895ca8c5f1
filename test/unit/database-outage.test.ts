import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DatabaseOutage, isDatabaseUnavailable } from '../../src/lib/database-outage.js';
import { waitFor } from '../support/wait.js';

const coded = (code: string, message = 'failed'): Error => Object.assign(new Error(message), { code });

describe('database faults', () => {
  it('tells an unreachable or dropped database from a wrong statement', () => {
    for (const fault of [
      coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      coded('EPIPE', 'write EPIPE'),
      coded('57P01', 'terminating connection due to administrator command'),
      coded('57P03', 'the database system is starting up'),
      coded('08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('select 1 - Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect failed'),
      new Error('wrapped', { cause: coded('57P01') }),
    ]) {
      assert.equal(isDatabaseUnavailable(fault), true, fault.message);
    }
    for (const other of [
      coded('23505', 'duplicate key'),
      coded('08P01', 'protocol violation'),
      coded('42P01'),
      new Error('Connection settings are invalid'),
      'ECONNREFUSED',
      undefined,
    ]) {
      assert.equal(isDatabaseUnavailable(other), false, String(other));
    }
  });

  it('warns once per outage, answers SERVICE_UNAVAILABLE, and says when the database is back', async () => {
    const lines: string[] = [];
    const log = { warn: (_: object, msg: string) => lines.push(`warn ${msg}`), info: (msg: string) => lines.push(`info ${msg}`) };
    let reachable = false;
    let probes = 0;
    const outage = new DatabaseOutage(
      log,
      async () => {
        probes++;
        if (!reachable) throw coded('ECONNREFUSED');
      },
      5,
    );
    try {
      assert.equal(outage.toAppError(coded('23505')), undefined, 'not a fault: the caller reports it');
      assert.equal(outage.toAppError(coded('ECONNREFUSED'))?.code, 'SERVICE_UNAVAILABLE');
      assert.equal(outage.absorb(new Error('Connection terminated unexpectedly')), true);
      await waitFor(() => probes >= 3, 'probes while down');
      assert.deepEqual(
        lines.map((l) => l.split(' ')[0]),
        ['warn'],
        'one warning for the whole outage',
      );
      reachable = true;
      await waitFor(() => lines.length === 2, 'the recovery line');
      assert.match(lines[1]!, /^info PostgreSQL answers again/);
      outage.absorb(coded('57P01'));
      assert.equal(lines.filter((l) => l.startsWith('warn')).length, 2, 'a later fault is a new outage');
    } finally {
      outage.close();
    }
  });
});
