import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/**
 * `POST /logbook/storage/`: device uploads. The body is read raw (JSON array or JSON Lines,
 * optionally gzip) because devices do not always label it, and the device's own token
 * authenticates. 2xx tells the device it may delete the batch.
 */
export function storageRoutes(services: Services) {
  const { config } = services;
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.uploadMaxBytes }, (_request, body, done) => done(null, body));

    app.post('/logbook/storage/', { bodyLimit: config.uploadMaxBytes }, async (request) => {
      const device = await services.devices.authenticateDevice(request.em, request.headers.authorization, header(request.headers['unit-id']));
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      return services.ingest.upload(device, raw, header(request.headers['content-encoding']));
    });
  };
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);
