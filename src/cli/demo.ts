/**
 * npm run demo [-- --url URL] [--token APIToken]
 * Drives one trip through a running service (or one it starts itself) and shows the export.
 */
import { parseOptions, usage, UsageError } from './cli-options.js';
import { DemoFailure, runDemo } from './demo/demo-run.js';

const OPTIONS = {
  url: { kind: 'string', env: 'DEMO_URL', default: 'http://127.0.0.1:4000', description: 'the service to use; started here when none answers' },
  token: { kind: 'string', env: 'DEMO_TOKEN', description: 'API token of an existing customer (else a demo customer is created)' },
  out: { kind: 'string', default: '.data/demo', description: 'folder for the downloaded TRIP_ID.json.gz' },
  timeout: { kind: 'number', default: 120, min: 5, max: 3600, description: 'seconds to wait for the export' },
} as const;

async function main(): Promise<void> {
  const options = parseOptions(OPTIONS, process.argv.slice(2), process.env);
  if (options.help) {
    console.log(usage('npm run demo --', OPTIONS));
    return;
  }
  await runDemo({ url: options.url, token: options.token, outDir: options.out, exportTimeoutSeconds: options.timeout });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof DemoFailure || error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`\ndemo failed: ${message}`);
    process.exit(1);
  },
);
