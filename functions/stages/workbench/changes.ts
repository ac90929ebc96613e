import { fail, formatBytes, plural } from './output';
import type { Overlay } from './overlay';
import { isSecretPath, repoPath, secretRefusal } from '../../shared/domain/workspace-paths';
import { splitLines } from './text';
import type { Snapshot } from './view';

/**
 * write_file, delete_file and revert_file: changes to the overlay only (the base tree is never
 * written). A write that makes a file equal to its base version drops the pending change rather
 * than keeping an empty one. Callers hold the path's lock (see Workspace).
 */

/** DynamoDB items hold at most 400 KB; one file's content stays well below. */
export const MAX_WRITE_BYTES = 300_000;

export interface WriteFileInput {
  path: string;
  content: string;
}

export interface PathInput {
  path: string;
}

/** The path a change may target, or an error text. */
export function writablePath(snapshot: Snapshot, raw: string): { path: string } | { error: string } {
  const checked = repoPath(raw);
  if ('error' in checked) return { error: fail(checked.error) };
  const path = checked.path;
  if (isSecretPath(path)) return { error: fail(secretRefusal(path)) };
  const link = snapshot.linkAbove(path);
  if (link) return { error: fail(`${link.path} ${link.reason}; it cannot be changed through the workspace`) };
  if (snapshot.isDirectory(path)) return { error: fail(`${path} is a directory`) };
  const names = path.split('/');
  for (let i = 1; i < names.length; i++) {
    const parent = names.slice(0, i).join('/');
    if (snapshot.isFile(parent)) return { error: fail(`${parent} is a file, so ${path} cannot be created`) };
  }
  return { path };
}

/** Records `content` as the file's new content; the answer says what happened. */
export async function putContent(
  snapshot: Snapshot,
  overlay: Overlay,
  path: string,
  content: string,
): Promise<string> {
  const base = await baseText(snapshot, path);
  if (base !== undefined && base === content) {
    await overlay.delete(path);
    return 'it now equals its base version, so no change is pending for it';
  }
  await overlay.put({ path, deleted: false, content });
  return '';
}

async function baseText(snapshot: Snapshot, path: string): Promise<string | undefined> {
  const body = await snapshot.baseBody(path);
  return body?.kind === 'text' ? body.text : undefined;
}

export async function writeFile(
  snapshot: Snapshot,
  overlay: Overlay,
  input: WriteFileInput,
): Promise<string> {
  const target = writablePath(snapshot, input.path);
  if ('error' in target) return target.error;
  const { path } = target;
  const bytes = Buffer.byteLength(input.content);
  if (bytes > MAX_WRITE_BYTES)
    return fail(`content is ${formatBytes(bytes)}; a file may be at most ${formatBytes(MAX_WRITE_BYTES)}`);
  if (input.content.includes('\0'))
    return fail('content contains NUL characters; write_file writes text files only');
  const existed = snapshot.isFile(path);
  const note = await putContent(snapshot, overlay, path, input.content);
  const what = existed ? 'replaced' : 'created';
  return `${what} ${path} (${plural(splitLines(input.content).length, 'line')}, ${formatBytes(bytes)})${note ? `; ${note}` : ''}`;
}

export async function deleteFile(snapshot: Snapshot, overlay: Overlay, input: PathInput): Promise<string> {
  const checked = repoPath(input.path);
  if ('error' in checked) return fail(checked.error);
  const { path } = checked;
  if (isSecretPath(path)) return fail(secretRefusal(path));
  if (!snapshot.isFile(path)) return fail(snapshot.whyNotAFile(path));
  if (snapshot.index.files.has(path)) {
    await overlay.put({ path, deleted: true });
    return `deleted ${path} (revert_file restores it)`;
  }
  await overlay.delete(path);
  return `deleted ${path} (it was a new file, so nothing of it remains)`;
}

export async function revertFile(snapshot: Snapshot, overlay: Overlay, input: PathInput): Promise<string> {
  const checked = repoPath(input.path);
  if ('error' in checked) return fail(checked.error);
  const { path } = checked;
  const change = snapshot.changes.get(path);
  const inBase = snapshot.index.files.has(path);
  if (!change) {
    if (!inBase) return fail(`${path}: no such file and no pending change`);
    return `${path} has no pending change; it already reads as in the base tree`;
  }
  await overlay.delete(path);
  if (!inBase) return `reverted ${path}: it was a new file, so it is gone`;
  if (change.deleted) return `reverted ${path}: the deletion is undone; it reads as in the base tree`;
  return `reverted ${path}: the pending edits are dropped; it reads as in the base tree`;
}
