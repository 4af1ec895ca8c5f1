/**
 * The Node.js options the service runs with: `npm start` passes them (package.json), and so do
 * the tests, benchmarks and tools that start `dist/src/main.js` themselves. They are read when the
 * process starts, so `main.ts` cannot set them itself.
 *
 * `--max-semi-space-size=64` (MB; Node 20's default is 16): the young generation is collected
 * each time it fills, and each collection copies what is still alive: the objects of every
 * request in flight. A page of 20 tasks with their trips and devices allocates about ten times
 * what authentication alone does, so at the default the service collected every few dozen pages,
 * copying the same in-flight requests each time: 91 µs of the main thread per TaskList page
 * against 49 µs with 64 MB (bench/results.md, "API reads"). The young generation may then grow to
 * 192 MB instead of 48 MB, and does only under load.
 */
export const SERVICE_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=64'];
