import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

/** A gzipped tar of `files` under one top folder, as GitHub's repository tarball is. */
export function tarballOf(files: Record<string, string>, top = 'acme-widgets-0000000'): Uint8Array {
  const blocks: Buffer[] = [];
  const entry = (path: string, type: 'Directory' | 'File', body = Buffer.alloc(0)) => {
    const header = Buffer.alloc(512);
    new tar.Header({
      path,
      type,
      mode: type === 'File' ? 0o644 : 0o755,
      size: body.length,
      mtime: new Date(0),
    }).encode(header, 0);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  };
  entry(`${top}/`, 'Directory');
  for (const [path, content] of Object.entries(files)) entry(`${top}/${path}`, 'File', Buffer.from(content));
  blocks.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(blocks)));
}
