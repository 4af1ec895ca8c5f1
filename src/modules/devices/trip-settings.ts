/** Per-device trip rules (see product-facts.md). */
import { tagPatternProblem } from '../../lib/tag-pattern.js';

export interface TripSettings {
  readonly autoExport: boolean;
  readonly reopenLimitSeconds: number;
  readonly activeTripMaxAgeSeconds: number;
  /** Regular expressions (RE2 syntax) matched against the whole event tag. */
  readonly startTags: readonly string[];
  readonly endTags: readonly string[];
  readonly finalEndTags: readonly string[];
}

export type PartialTripSettings = Partial<TripSettings>;

/** A change to one layer: a value sets it, null removes it (the layer below applies), absent keeps it. */
export type TripSettingsChange = { readonly [K in keyof TripSettings]?: TripSettings[K] | null };

export const DEFAULT_TRIP_SETTINGS: TripSettings = Object.freeze({
  autoExport: false,
  reopenLimitSeconds: 600,
  activeTripMaxAgeSeconds: 5400,
  startTags: ['vehicle/engine/running'],
  endTags: ['vehicle/engine/stopped', 'vehicle/engine/not_running'],
  finalEndTags: ['vehicle/rfid/.*/(unauthenticated|rejected)'],
});

const KEYS = Object.keys(DEFAULT_TRIP_SETTINGS) as (keyof TripSettings)[];

/** Defaults, overlaid by the template's settings, overlaid by the device's own. */
export function effectiveSettings(template: PartialTripSettings | null | undefined, own: PartialTripSettings | null | undefined): TripSettings {
  const result: Record<string, unknown> = { ...DEFAULT_TRIP_SETTINGS };
  for (const layer of [template, own]) {
    if (!layer) continue;
    for (const key of KEYS) {
      if (layer[key] !== undefined && layer[key] !== null) result[key] = layer[key];
    }
  }
  return result as unknown as TripSettings;
}

/** Patterns per list: each one is a pass over every event's tag. */
const MAX_PATTERNS = 20;

/** Checks a partial settings object; returns the problems found (empty when valid). */
export function validateSettings(settings: PartialTripSettings): string[] {
  const problems: string[] = [];
  for (const key of ['reopenLimitSeconds', 'activeTripMaxAgeSeconds'] as const) {
    const v = settings[key];
    if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0 || v > 30 * 86400)) {
      problems.push(`${key} must be an integer number of seconds between 0 and 2592000`);
    }
  }
  for (const key of ['startTags', 'endTags', 'finalEndTags'] as const) {
    const patterns = settings[key] ?? [];
    if (patterns.length > MAX_PATTERNS) problems.push(`${key} may hold at most ${MAX_PATTERNS} patterns`);
    for (const pattern of patterns.slice(0, MAX_PATTERNS)) {
      const problem = tagPatternProblem(pattern);
      if (problem) problems.push(`${key} pattern ${JSON.stringify(pattern.slice(0, 100))} ${problem}`);
    }
  }
  return problems;
}
