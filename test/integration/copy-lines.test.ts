import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';

import { CopyLinesStream } from '../../src/db/copy-lines.stream.js';
import { TEST_SERVER_URL } from '../support/test-db.js';

async function read(stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  for await (const block of stream) blocks.push(block);
  return blocks;
}

/** The stream against a real PostgreSQL: what it reads, and the connection it leaves behind. */
describe('COPY lines stream on PostgreSQL', () => {
  let client: pg.Client;
  before(async () => {
    client = new pg.Client({ connectionString: TEST_SERVER_URL });
    await client.connect();
  });
  after(() => client.end());

  it('reads each stored text byte for byte, in order, in full blocks; the connection goes on', async () => {
    const values = ['{"a":"back\\\\slash, \\"quotes\\", tab\\t"}', '', '{"ü":"ünïcødé 🚗 \u0001\u0002"}', '{"big":"' + 'x'.repeat(3_000_000) + '"}'];
    const rows = [...values, ...Array.from({ length: 20_000 }, (_, i) => `{"i":${i}}`)];
    await client.query('create temporary table lines (n int, line text not null)');
    await client.query('insert into lines select n, v from unnest($1::text[]) with ordinality as u(v, n)', [rows]);
    const copy = client.query(new CopyLinesStream('copy (select line from lines order by n) to stdout (format binary)', { blockSize: 1 << 16, prepend: Buffer.from('first\n') }));
    const blocks = await read(copy);
    assert.equal(Buffer.concat(blocks).toString(), `first\n${rows.join('\n')}\n`);
    assert.ok(blocks.slice(0, -1).every((b) => b.length === 1 << 16));
    // The rest of the exchange went back to pg: the count arrived, and the next query runs.
    assert.equal((await client.query<{ one: number }>('select 1 as one')).rows[0]?.one, 1);
    assert.equal(copy.rowCount, rows.length);
  });

  it('fails with the error PostgreSQL raised midway, and the connection still works', async () => {
    const copy = client.query(
      new CopyLinesStream(`copy (select case when i = 15000 then (1 / (i - i))::text else repeat('y', i % 300) end from generate_series(1, 20000) i) to stdout (format binary)`, {
        blockSize: 4096,
      }),
    );
    await assert.rejects(read(copy), /division by zero/);
    assert.equal((await client.query<{ one: number }>('select 1 as one')).rows[0]?.one, 1);
  });

  it('rejects a query of two columns, reads the rest off and leaves the connection usable', async () => {
    const copy = client.query(new CopyLinesStream('copy (select i, i::text from generate_series(1, 50000) i) to stdout (format binary)', { blockSize: 4096 }));
    await assert.rejects(read(copy), /2 columns; one is expected/);
    assert.equal((await client.query<{ one: number }>('select 1 as one')).rows[0]?.one, 1);
  });

  it('a reader that stops early leaves the connection usable', async () => {
    const copy = client.query(new CopyLinesStream(`copy (select repeat('z', 200) from generate_series(1, 200000)) to stdout (format binary)`, { blockSize: 4096 }));
    for await (const block of copy as AsyncIterable<Buffer>) {
      assert.equal(block.length, 4096);
      break; // destroys the stream mid-COPY
    }
    assert.equal((await client.query<{ one: number }>('select 1 as one')).rows[0]?.one, 1);
  });
});
