import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { FactoryError } from './errors';

/** Unpacking stops beyond these: a repository this large does not fit a function's /tmp. */
export const MAX_SNAPSHOT_BYTES = 2 * 1024 ** 3;
export const MAX_SNAPSHOT_ENTRIES = 200_000;

export class SnapshotTooLarge extends FactoryError {
  constructor(what: string) {
    super('SnapshotTooLarge', `the repository snapshot is too large to unpack (${what})`);
  }
}

export const isDirectory = (dir: string): Promise<boolean> =>
  stat(dir).then(
    (found) => found.isDirectory(),
    () => false,
  );

/**
 * Unpacks a GitHub tarball (one top folder, `owner-repo-sha/`, stripped; `strip: 0` for an archive
 * of packDirectory) into `target` and returns it. Only files, folders and links are written, never
 * outside the target (tar refuses absolute paths and `..`), within the size bounds; the tree
 * appears at `target` whole or not at all.
 */
export async function unpackTarball(
  tarball: Uint8Array,
  target: string,
  { strip = 1 }: { strip?: number } = {},
): Promise<string> {
  const partial = `${target}.partial-${randomBytes(6).toString('hex')}`;
  await mkdir(partial, { recursive: true });
  let bytes = 0;
  let entries = 0;
  let tooLarge: SnapshotTooLarge | undefined;
  try {
    await pipeline(
      Readable.from([tarball]),
      tar.x({
        cwd: partial,
        strip,
        filter: (_path, entry) => {
          const type = 'type' in entry ? entry.type : undefined;
          if (type !== 'File' && type !== 'OldFile' && type !== 'Directory' && type !== 'SymbolicLink')
            return false;
          entries += 1;
          bytes += 'size' in entry && typeof entry.size === 'number' ? entry.size : 0;
          if (entries > MAX_SNAPSHOT_ENTRIES)
            tooLarge ??= new SnapshotTooLarge(`over ${MAX_SNAPSHOT_ENTRIES} entries`);
          if (bytes > MAX_SNAPSHOT_BYTES)
            tooLarge ??= new SnapshotTooLarge(`over ${MAX_SNAPSHOT_BYTES} bytes`);
          return tooLarge === undefined;
        },
      }),
    );
    if (tooLarge) throw tooLarge;
    await rename(partial, target).catch(async (error: unknown) => {
      // Another invocation of this container finished first: use its tree.
      if (!(await isDirectory(target))) throw error;
      await rm(partial, { recursive: true, force: true });
    });
    return target;
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

/** A gzipped tar of everything in `dir` (no top folder), links kept as links. */
export async function packDirectory(dir: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  await pipeline(
    tar.c({ gzip: true, portable: true, cwd: dir }, ['.']),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    },
  );
  return new Uint8Array(Buffer.concat(chunks));
}
