import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Helmet's headers (CSP, nosniff, frame and referrer policies, HSTS...) on every route.
 * `upgrade-insecure-requests` is left out: the service is often reached over plain HTTP
 * (loopback, or behind a TLS-terminating proxy), where it would break its own pages.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
}

const APOLLO_CDNS = [
  'https://apollo-server-landing-page.cdn.apollographql.com',
  'https://embeddable-sandbox.cdn.apollographql.com',
  'https://embeddable-explorer.cdn.apollographql.com',
];

/**
 * GET /graphql from a browser is Apollo's landing page (Sandbox), which loads its scripts,
 * styles and frame from Apollo's CDN. The page also sets its own nonce-based CSP in a meta
 * tag; a browser enforces both, so allowing inline code here still admits only the page's
 * nonce'd scripts.
 */
export const graphqlLandingPageHeaders: Omit<FastifyHelmetOptions, 'global'> = {
  contentSecurityPolicy: {
    directives: {
      upgradeInsecureRequests: null,
      scriptSrc: ["'self'", "'unsafe-inline'", ...APOLLO_CDNS],
      styleSrc: ["'self'", "'unsafe-inline'", ...APOLLO_CDNS, 'https://fonts.googleapis.com'],
      fontSrc: ["'self'", 'https://fonts.gstatic.com', 'data:'],
      imgSrc: ["'self'", 'data:', 'https://apollo-server-landing-page.cdn.apollographql.com'],
      manifestSrc: ["'self'", 'https://apollo-server-landing-page.cdn.apollographql.com'],
      frameSrc: ["'self'", 'https://sandbox.embed.apollographql.com', 'https://explorer.embed.apollographql.com'],
    },
  },
  crossOriginEmbedderPolicy: false,
};

/**
 * The built-in dashboard (GET /, /assets/*): its scripts and styles come from the service
 * itself, it talks to /graphql over fetch and graphql-ws on the same origin, and it embeds
 * nothing. `connect-src 'self'` covers ws:// and wss:// to the same host (CSP level 3).
 */
export const dashboardHeaders: Omit<FastifyHelmetOptions, 'global'> = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'self'"],
      objectSrc: ["'none'"],
      scriptSrcAttr: ["'none'"],
    },
  },
};
