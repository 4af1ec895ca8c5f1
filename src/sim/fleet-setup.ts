import { randomUUID } from 'node:crypto';

import type { ApiClient } from './api-client.js';
import type { DeviceCredentials } from './device-uploader.js';

/** A device created for a demo or a simulated fleet, with the token it uploads with. */
export interface SimDevice extends DeviceCredentials {
  readonly id: string;
  readonly name: string;
  readonly vehicleId: number;
}

export interface DeviceSettings {
  readonly autoExport?: boolean;
  readonly reopenLimitSeconds?: number;
}

const CREATE_DEVICE = `mutation CreateDevice($input: CreateDeviceInput!) {
  createDevice(input: $input) { uploadToken device { id } }
}`;
const UPDATE_SETTINGS = `mutation UpdateDeviceSettings($deviceId: ID!, $settings: TripSettingsInput!) {
  updateDeviceSettings(deviceId: $deviceId, settings: $settings) { id }
}`;

/** Creates a device through GraphQL, as a fleet manager would, and sets its trip settings. */
export async function createDevice(client: ApiClient, name: string, vehicleId: number, settings: DeviceSettings = {}): Promise<SimDevice> {
  const unitId = randomUUID();
  const created = await client.graphql<{ createDevice: { uploadToken: string; device: { id: string } } }>(CREATE_DEVICE, {
    input: { unitId, name, vehicleId },
  });
  const { id } = created.createDevice.device;
  if (Object.keys(settings).length > 0) await client.graphql(UPDATE_SETTINGS, { deviceId: id, settings });
  return { id, name, unitId, vehicleId, uploadToken: created.createDevice.uploadToken };
}
