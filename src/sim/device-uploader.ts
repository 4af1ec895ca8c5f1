import { gzipSync } from 'node:zlib';

import { call, failure } from './api-client.js';
import type { SimRecord } from './fleet-data.js';
import { type RetryHooks, retrying, type RetryPolicy } from './retry.js';

/** What a device knows about itself: its unit id and upload token. */
export interface DeviceCredentials {
  readonly unitId: string;
  readonly uploadToken: string;
}

/** The answer of `POST /logbook/storage/`. */
export interface UploadAnswer {
  readonly stored: number;
  readonly duplicate: boolean;
  readonly trips: { readonly started: number; readonly ended: number; readonly reopened: number };
}

/** A batch as the device sends it: a gzipped JSON array, the same bytes on every retry. */
const encodeBatch = (records: readonly SimRecord[]): Buffer => gzipSync(JSON.stringify(records));

/** One attempt at `POST /logbook/storage/`; anything but 2xx throws an `ApiError`. */
async function sendBatch(baseUrl: string, device: DeviceCredentials, body: Buffer): Promise<UploadAnswer> {
  const response = await call(`${baseUrl}/logbook/storage/`, {
    method: 'POST',
    headers: {
      authorization: `token ${device.uploadToken}`,
      'unit-id': device.unitId,
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    },
    body,
  });
  if (!response.ok) throw await failure(response, 'POST /logbook/storage/');
  return (await response.json()) as UploadAnswer;
}

/**
 * Uploads like a device: a 2xx lets it delete the batch; any other answer, or none, makes it
 * send the same batch again later (the service stores a repeated batch once). `target` may
 * pick the service per attempt: several instances behind a balancer, where a retry lands on
 * whichever instance is next.
 */
export async function uploadBatch(
  target: string | (() => string),
  device: DeviceCredentials,
  records: readonly SimRecord[],
  policy: RetryPolicy,
  onRetry?: RetryHooks['onRetry'],
): Promise<UploadAnswer> {
  const body = encodeBatch(records);
  const baseUrl = typeof target === 'string' ? () => target : target;
  return retrying(() => sendBatch(baseUrl(), device, body), policy, onRetry ? { onRetry } : {});
}
