import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

import { classifyAddress } from './address-policy.js';

/** At most this much of a response body is read; the rest is dropped with the connection. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OutboundPolicy {
  readonly allowPrivateNetworks: boolean;
  readonly timeoutMs: number;
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The first {@link MAX_RESPONSE_BYTES} of the body at most, as text. */
  readonly body: string;
  /** The address the request was sent to. */
  readonly remoteAddress: string | undefined;
}

/** A request refused or broken before a status arrived; `message` is fit for `lastError`. */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly kind: 'refused' | 'timeout' | 'network',
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

const refusal = (address: string, category: string): OutboundError =>
  new OutboundError(`refused to connect to ${address}: ${category} address (set WEBHOOK_ALLOW_PRIVATE_NETWORKS to allow)`, 'refused');

/**
 * A DNS lookup that hands the socket only addresses the policy allows. The socket connects
 * to exactly what this returns, so a name that resolves (or is rebound) to a private address
 * is refused at the moment of connecting, not at some earlier check.
 */
function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const allowed = policy.allowPrivateNetworks ? addresses : addresses.filter((a) => classifyAddress(a.address) === 'public');
      if (allowed.length === 0) {
        const first = addresses[0];
        return callback(first ? refusal(`${hostname} (${first.address})`, classifyAddress(first.address)) : new Error(`${hostname} has no address`), '', 0);
      }
      if (options.all) return callback(null, allowed);
      const [chosen] = allowed as [LookupAddress];
      return callback(null, chosen.address, chosen.family);
    });
  };
}

/**
 * POSTs `body` without following redirects, within one deadline for the whole exchange,
 * reading at most {@link MAX_RESPONSE_BYTES} of the answer. Only http and https; the target
 * address is checked when connecting (see {@link guardedLookup}) and again once connected.
 */
export function postOutbound(url: string, headers: Record<string, string>, body: string, policy: OutboundPolicy): Promise<OutboundResponse> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new OutboundError(`invalid URL ${url}`, 'refused'));
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.reject(new OutboundError(`only http and https URLs are allowed (got ${target.protocol})`, 'refused'));
  }
  // An IP literal skips DNS, so the lookup guard never sees it: check it here.
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !policy.allowPrivateNetworks && classifyAddress(literal) !== 'public') {
    return Promise.reject(refusal(literal, classifyAddress(literal)));
  }

  return new Promise<OutboundResponse>((resolve, reject) => {
    const transport = target.protocol === 'https:' ? https : http;
    const request = transport.request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body).toString() },
      lookup: guardedLookup(policy),
      agent: false,
    });
    const timer = setTimeout(() => request.destroy(new OutboundError(`no complete answer within ${policy.timeoutMs / 1000} s`, 'timeout')), policy.timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error instanceof OutboundError ? error : new OutboundError(error.message || String(error), 'network'));
    };
    request.on('error', fail);
    // Belt and braces: the lookup guard already chose the address; this catches any path
    // that would bypass it (an agent or proxy added later).
    request.on('socket', (socket) => {
      socket.once('connect', () => {
        const remote = socket.remoteAddress;
        if (!policy.allowPrivateNetworks && (!remote || classifyAddress(remote) !== 'public')) {
          request.destroy(refusal(remote ?? 'an unknown address', remote ? classifyAddress(remote) : 'unknown'));
        }
      });
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      const remoteAddress = response.socket?.remoteAddress;
      let size = 0;
      const finish = (): void => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8'), remoteAddress });
      };
      response.on('data', (chunk: Buffer) => {
        const room = MAX_RESPONSE_BYTES - size;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size += chunk.length;
        // The status is what counts; stop reading a body that does not end.
        if (size >= MAX_RESPONSE_BYTES) {
          finish();
          response.destroy();
        }
      });
      response.on('end', finish);
      response.on('error', (error) => (size >= MAX_RESPONSE_BYTES ? undefined : fail(error)));
    });
    request.end(body);
  });
}
