/**
 * Operations on fields that the API adds in issue 14 (Device.latestTrip, Device.lastSeenAt,
 * Trip.track, Task.downloadUrl, tasks(deviceId), rotateDeviceToken). They cannot live in
 * web/operations/ until schema/schema.graphql has them (codegen validates every document), so
 * they are written here with their result types, and each screen runs one only when
 * `schemaHas` says the schema it was built against has the field. Once the schema has them,
 * move them to web/operations/ and drop this file.
 */
import { schemaHas } from './features.js';

export const has = {
  latestTrip: schemaHas('Device.latestTrip') && schemaHas('Device.lastSeenAt'),
  track: schemaHas('Trip.track'),
  downloadUrl: schemaHas('Task.downloadUrl'),
  tasksByDevice: schemaHas('Query.tasks(deviceId)'),
  rotateDeviceToken: schemaHas('Mutation.rotateDeviceToken'),
};

export const FLEET_LATEST = `query FleetLatest {
  devices { id lastSeenAt latestTrip { id state startTimeUtc task { id state } } }
}`;
export interface FleetLatestResult {
  devices: { id: string; lastSeenAt: string | null; latestTrip: { id: string; state: string; startTimeUtc: string; task: { id: string; state: string } | null } | null }[];
}

export const TRIP_TRACK = `query TripTrack($id: ID!, $maxPoints: Int) {
  trip(id: $id) { id track(maxPoints: $maxPoints) { lat lon ts } }
}`;
export interface TrackPoint {
  lat: number;
  lon: number;
  ts: string;
}
export interface TripTrackResult {
  trip: { id: string; track: TrackPoint[] };
}

export const TASK_DOWNLOAD_URL = `query TaskDownloadUrl($id: ID!) { task(id: $id) { id downloadUrl } }`;
export interface TaskDownloadUrlResult {
  task: { id: string; downloadUrl: string | null };
}

export const TASKS_BY_DEVICE = `query TasksByDevice($state: TaskState, $deviceId: ID, $first: Int) {
  tasks(state: $state, deviceId: $deviceId, first: $first) {
    totalCount
    edges { node { id state createdAt finishedAt result { bytes } trip { id startTimeUtc device { id name } } } }
  }
}`;

export const ROTATE_DEVICE_TOKEN = `mutation RotateDeviceToken($id: ID!) {
  rotateDeviceToken(id: $id) { uploadToken device { id } }
}`;
export interface RotateDeviceTokenResult {
  rotateDeviceToken: { uploadToken: string; device: { id: string } };
}
