/**
 * A trip's track as an SVG polyline with a scale bar: no map tiles can be fetched, and a line
 * over the trip's own extent is what a fleet manager needs to see where it went.
 */
const WIDTH = 600;
const HEIGHT = 360;
const PAD = 20;
const EARTH_M_PER_DEG = 111_320;

/** The largest 1/2/5 x 10^n metres not wider than `maxMetres`. */
function niceDistance(maxMetres: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(maxMetres, 1)));
  return [5, 2, 1].map((f) => f * power).find((d) => d <= maxMetres) ?? power;
}

export function TrackView({ points }: { points: readonly { lat: number; lon: number }[] }) {
  if (points.length < 2) return <p>No positions to draw.</p>;
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  // Equirectangular around the middle latitude: fine at a trip's scale.
  const kx = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180) * EARTH_M_PER_DEG;
  const widthM = Math.max((maxLon - minLon) * kx, 1);
  const heightM = Math.max((maxLat - minLat) * EARTH_M_PER_DEG, 1);
  const pxPerM = Math.min((WIDTH - 2 * PAD) / widthM, (HEIGHT - 2 * PAD) / heightM);
  const x = (lon: number) => PAD + (lon - minLon) * kx * pxPerM;
  const y = (lat: number) => HEIGHT - PAD - (lat - minLat) * EARTH_M_PER_DEG * pxPerM;
  const line = points.map((p) => `${x(p.lon).toFixed(1)},${y(p.lat).toFixed(1)}`).join(' ');
  const scaleM = niceDistance((WIDTH - 2 * PAD) / 4 / pxPerM);
  const scalePx = scaleM * pxPerM;
  const first = points[0]!;
  const last = points.at(-1)!;
  return (
    <svg class="track" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`Track of ${points.length} positions`}>
      <rect width={WIDTH} height={HEIGHT} class="track-bg" />
      <polyline points={line} class="track-line" />
      <circle cx={x(first.lon)} cy={y(first.lat)} r="5" class="track-start" />
      <circle cx={x(last.lon)} cy={y(last.lat)} r="5" class="track-end" />
      <g transform={`translate(${PAD},${HEIGHT - 8})`} class="track-scale">
        <line x1="0" y1="0" x2={scalePx} y2="0" />
        <text x={scalePx + 6} y="4">
          {scaleM >= 1000 ? `${scaleM / 1000} km` : `${scaleM} m`}
        </text>
      </g>
    </svg>
  );
}
