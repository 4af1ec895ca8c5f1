import type { FileHandle } from 'node:fs/promises';

import type { FastifyReply, FastifyRequest } from 'fastify';

export interface Download {
  readonly file: FileHandle;
  readonly size: number;
  /** Strong validator (the SHA-256 of the content), without quotes. */
  readonly etag: string;
  readonly filename: string;
  readonly contentType: string;
}

/** A single `bytes=` range, or undefined for "send it all" (absent, several ranges, or not bytes). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return undefined;
  let start: number;
  let end: number;
  if (from === '') {
    // "-N": the last N bytes
    start = Math.max(0, size - Number(to));
    end = size - 1;
  } else {
    start = Number(from);
    end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  }
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}

const etagMatches = (header: string | undefined, etag: string): boolean =>
  header !== undefined && header.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === etag);

/**
 * Sends a file as an attachment with Content-Length and a strong ETag; answers If-None-Match
 * with 304 and a byte Range with 206 (If-Range honoured), so interrupted downloads resume.
 * Takes ownership of the open file and closes it.
 */
export async function sendDownload(request: FastifyRequest, reply: FastifyReply, download: Download): Promise<FastifyReply> {
  const { file, size } = download;
  const etag = `"${download.etag}"`;
  void reply
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, no-cache')
    .header('content-disposition', `attachment; filename="${download.filename}"`);
  if (etagMatches(request.headers['if-none-match'], etag)) {
    await file.close();
    return reply.status(304).send();
  }
  const ifRange = request.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    await file.close();
    return reply.status(416).header('content-range', `bytes */${size}`).send();
  }
  void reply.type(download.contentType);
  if (request.method === 'HEAD' || size === 0) {
    await file.close();
    return reply.header('content-length', size).send();
  }
  if (range) {
    return reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
      .header('content-length', range.end - range.start + 1)
      .send(file.createReadStream({ start: range.start, end: range.end }));
  }
  return reply.header('content-length', size).send(file.createReadStream());
}
