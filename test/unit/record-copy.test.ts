import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { storedLineMaker } from '../../src/modules/ingest/record-copy.js';

describe('stored lines', () => {
  const device = { unitId: '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d', vehicleId: 4711 };
  const received = '2026-11-26T08:00:00.123456Z';
  const line = storedLineMaker(device, received);

  it('appends @uid, @vid and @rec after the fields the device sent, in their order', () => {
    const sent = '{"@t":"obd.rpm","@ts":"2026-11-26T07:59:59.000001Z","obd.rpm.value":1500.5,"obd.rpm.unit":"rpm","note":"caf\\u00e9 \\"x\\""}';
    assert.equal(line(JSON.parse(sent) as Record<string, unknown>), `${sent.slice(0, -1).replace('\\u00e9', 'é')},"@uid":"${device.unitId}","@vid":4711,"@rec":"${received}"}`);
  });

  it('lets the server fields win where the device sent its own, keeping their position', () => {
    const data = JSON.parse('{"@t":"track.pos","@vid":1,"@ts":"2026-11-26T07:59:59Z","@uid":"forged","1":"integer keys first"}') as Record<string, unknown>;
    assert.equal(line(data), `{"1":"integer keys first","@t":"track.pos","@vid":4711,"@ts":"2026-11-26T07:59:59Z","@uid":"${device.unitId}","@rec":"${received}"}`);
  });

  it('writes the server fields alone for an empty object', () => {
    assert.deepEqual(JSON.parse(line({})), { '@uid': device.unitId, '@vid': 4711, '@rec': received });
  });
});
