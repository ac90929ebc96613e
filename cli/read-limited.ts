import { open, stat } from 'node:fs/promises';

export type ReadResult = { ok: true; text: string } | { ok: false; message: string };

const reason = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENAMETOOLONG':
      return 'file name too long';
    default:
      return `cannot be read (${code ?? 'error'})`;
  }
};

/**
 * Reads a UTF-8 text file of at most `limit` bytes. Reads at most `limit + 1` bytes, so a huge
 * file is refused without being loaded; directories, devices and FIFOs are refused before opening.
 */
export async function readTextFileLimited(path: string, limit: number): Promise<ReadResult> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return { ok: false, message: 'is a directory, not a file' };
    if (!info.isFile()) return { ok: false, message: 'is not a regular file' };
    if (info.size > limit) {
      return {
        ok: false,
        message: `is too large (${info.size} bytes); the limit is ${limit} bytes (64 KiB)`,
      };
    }
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(limit + 1);
      let filled = 0;
      // Bounded: each read advances or ends; at most limit + 1 bytes in total.
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled > limit) {
        return {
          ok: false,
          message: `is too large (more than ${limit} bytes); the limit is ${limit} bytes (64 KiB)`,
        };
      }
      try {
        return {
          ok: true,
          text: new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, filled)),
        };
      } catch {
        return { ok: false, message: 'is not valid UTF-8 text' };
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    return { ok: false, message: reason(error) };
  }
}
