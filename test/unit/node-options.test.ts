import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

import { SERVICE_NODE_OPTIONS } from '../../src/node-options.js';
import { PROJECT_ROOT } from '../support/process.js';

describe('the Node.js options the service runs with', () => {
  it('npm start passes the same options as the tests and tools that start the service themselves', async () => {
    const pkg = JSON.parse(await readFile(`${PROJECT_ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.start!, new RegExp(`node ${SERVICE_NODE_OPTIONS.join(' ')} dist/src/main\\.js$`));
  });

  it('give the young generation room for many requests in flight', async () => {
    // What the young generation grows to under churn: with Node 20's default it stays within 34 MB.
    const churn = `let keep = []; for (let i = 0; i < 2e7; i++) { keep.push({ i }); if (keep.length > 200000) keep = []; }
      console.log(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)`;
    const { stdout } = await promisify(execFile)(process.execPath, [...SERVICE_NODE_OPTIONS, '-e', churn]);
    assert.ok(Number(stdout) > 100e6, `new space ${stdout.trim()} bytes`);
  });
});
