import type { FastifyInstance } from 'fastify';
import type pg from 'pg';

import type { DeviceService } from '../modules/devices/device.service.js';
import type { IngestService } from '../modules/ingest/ingest.service.js';
import { errorSchema, uploadResultSchema } from './schemas.js';

/**
 * `POST /logbook/storage/`: device uploads. The body is read raw (JSON array or JSON Lines,
 * optionally gzip) because devices do not always label it, and the device's own token
 * authenticates. 2xx tells the device it may delete the batch. The body is handed on as it
 * streams, after the token is checked: the service bounds it while reading.
 */
export function storageRoutes(pool: pg.Pool, devices: DeviceService, ingest: IngestService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    app.post(
      '/logbook/storage/',
      {
        schema: {
          tags: ['logbook'],
          summary: 'Device upload: a JSON array of records or JSON Lines, optionally gzip (Content-Encoding: gzip)',
          description:
            'Authenticated with the device token ("token <t>" or "Bearer <t>"); the unit-id header, when sent, must match. A batch is stored whole or not at all, and the same batch sent twice is stored once.',
          security: [{ deviceToken: [] }],
          // Documentation only: the body is read raw (it may be gzip or JSON Lines) and checked by the service.
          body: {
            type: 'array',
            items: { type: 'object', properties: { '@t': { type: 'string' }, '@ts': { type: 'string' }, '@tag': { type: 'string' } }, required: ['@t', '@ts'] },
          },
          response: { 200: uploadResultSchema, 400: errorSchema, 401: errorSchema, 413: errorSchema, 415: errorSchema },
        },
        validatorCompiler: () => () => true,
      },
      async (request, reply) => {
        try {
          const device = await devices.authenticateDevice(pool, request.headers.authorization, header(request.headers['unit-id']));
          // Not destroyed when reading stops early: the socket still carries the answer.
          const body = request.raw.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
          return await ingest.upload(device, body, header(request.headers['content-encoding']));
        } catch (error) {
          // Refused before the end of the body: drop the rest unread and close after answering.
          if (!request.raw.complete) {
            void reply.header('connection', 'close');
            request.raw.resume();
          }
          throw error;
        }
      },
    );
  };
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);
