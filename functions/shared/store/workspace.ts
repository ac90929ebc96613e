import * as z from 'zod';
import { ValidationError } from '../errors';
import { keys, PRIVATE_SOURCE_TTL_SECONDS } from './keys';
import type { Table } from './table';

/** A file of a run's pending change (the overlay over the repo at its base commit). */
export const WorkspaceFile = z.object({
  path: z.string().min(1),
  /** undefined with deleted=true for a deletion. */
  content: z.string().optional(),
  deleted: z.boolean(),
  updatedAt: z.string(),
});
export type WorkspaceFile = z.infer<typeof WorkspaceFile>;

export interface WorkspaceStore {
  putWorkspaceFile(runId: string, file: WorkspaceFile): Promise<void>;
  getWorkspaceFile(runId: string, path: string): Promise<WorkspaceFile | undefined>;
  listWorkspaceFiles(runId: string): Promise<WorkspaceFile[]>;
  /** Forgets the pending change of `path` (revert_file); nothing happens when there is none. */
  deleteWorkspaceFile(runId: string, path: string): Promise<void>;
}

/** Largest workspace file content (UTF-8 bytes): keeps the item far below DynamoDB's 400 KB. */
export const MAX_WORKSPACE_FILE_BYTES = 256 * 1024;

/** A file as the store accepts it: a path of at most 1024 characters, content within the cap, none for a deletion. */
export function checkWorkspaceFile(file: WorkspaceFile): WorkspaceFile {
  const parsed = WorkspaceFile.parse(file);
  if (parsed.path.length > 1024) throw new ValidationError('workspace path longer than 1024 characters');
  if (parsed.content !== undefined && Buffer.byteLength(parsed.content, 'utf8') > MAX_WORKSPACE_FILE_BYTES) {
    throw new ValidationError(`${parsed.path}: file larger than ${MAX_WORKSPACE_FILE_BYTES} bytes`);
  }
  if (parsed.deleted && parsed.content !== undefined) {
    throw new ValidationError(`${parsed.path}: a deletion has no content`);
  }
  return parsed;
}

export function dynamoWorkspace(t: Table): WorkspaceStore {
  return {
    /** PutItem WS#<runId>/FILE#<path> (overwrites: the latest write is the file; expiring), checked first. */
    async putWorkspaceFile(runId, file) {
      const parsed = checkWorkspaceFile(file);
      await t.put({
        ...keys.workspaceFile(runId, parsed.path),
        ...parsed,
        expiresAt: t.expiry(PRIVATE_SOURCE_TTL_SECONDS),
      });
    },

    /** GetItem WS#<runId>/FILE#<path>. */
    async getWorkspaceFile(runId, path) {
      const item = await t.get(keys.workspaceFile(runId, path));
      return item && t.isLive(item) ? WorkspaceFile.parse(item) : undefined;
    },

    /** DeleteItem WS#<runId>/FILE#<path> (unconditional: deleting nothing is fine). */
    async deleteWorkspaceFile(runId, path) {
      await t.delete({ Key: keys.workspaceFile(runId, path) });
    },

    /** Query pk=WS#<runId> begins_with(sk, "FILE#") (all pages, bounded), in path order. */
    async listWorkspaceFiles(runId) {
      const items = await t.queryAll(keys.workspaceFile(runId, '').pk, keys.workspaceFilePrefix);
      return items.filter((i) => t.isLive(i)).map((i) => WorkspaceFile.parse(i));
    },
  };
}
