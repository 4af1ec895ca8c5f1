/**
 * The service's first import (src/main.ts): NODE_ENV defaults to `production` before any library
 * reads it. Outside production graphql-js checks every type test that fails (is this field's type
 * a list? non-null?) for a copy of graphql loaded from another module, 5–10% of the service's CPU
 * on a page of trips (bench/results.md, "API reads"). An explicit NODE_ENV is kept; the tests,
 * which build the app without this file, keep the checks.
 */
process.env.NODE_ENV ??= 'production';

export {};
