import * as z from 'zod';
import { keys } from './keys';
import type { Table } from './table';

/** An API key of the REST API, stored by its SHA-256 only (the raw key is never stored). */
export const ApiKeyRecord = z.object({
  keyHash: z.string().min(1),
  name: z.string(),
  scopes: z.array(z.enum(['runs:read', 'runs:write'])),
  repoPatterns: z.array(z.string()),
  createdAt: z.string(),
  revoked: z.boolean().optional(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecord>;

export interface ApiKeyStore {
  putApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(keyHash: string): Promise<ApiKeyRecord | undefined>;
}

export function dynamoApiKeys(t: Table): ApiKeyStore {
  return {
    /** PutItem APIKEY#<sha256>/APIKEY. */
    async putApiKey(record) {
      const parsed = ApiKeyRecord.parse(record);
      await t.put({ ...keys.apiKey(parsed.keyHash), ...parsed });
    },

    /** GetItem APIKEY#<sha256>/APIKEY. */
    async getApiKey(keyHash) {
      const item = await t.get(keys.apiKey(keyHash));
      return item ? ApiKeyRecord.parse(item) : undefined;
    },
  };
}
