import type { IncomingMessage, ServerResponse } from 'node:http';

/** Git's pkt-line framing (gitprotocol-common): a 4-hex-digit length that counts itself, then data. */

export const FLUSH = Buffer.from('0000');

export function pkt(data: string | Buffer): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0')), payload]);
}

/**
 * The pkt-lines at the start of `body` up to and including the first flush, as text without the
 * trailing LF, and where the bytes after that flush start; undefined when the framing is broken.
 */
export function readPktLines(body: Buffer, maxLines = 10_000): { lines: string[]; rest: number } | undefined {
  const lines: string[] = [];
  let offset = 0;
  while (offset + 4 <= body.length && lines.length <= maxLines) {
    const length = Number.parseInt(body.subarray(offset, offset + 4).toString('ascii'), 16);
    if (!/^[0-9a-f]{4}$/i.test(body.subarray(offset, offset + 4).toString('ascii'))) return undefined;
    if (length === 0) return { lines, rest: offset + 4 };
    if (length < 4 || offset + length > body.length) return undefined;
    lines.push(
      body
        .subarray(offset + 4, offset + length)
        .toString('utf8')
        .replace(/\n$/, ''),
    );
    offset += length;
  }
  return undefined;
}

/** The request body, or undefined once it passes `maxBytes` (the rest is drained, not kept). */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  response.end(text);
}
