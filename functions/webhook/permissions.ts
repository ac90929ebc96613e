import { repoRefOf } from '../shared/domain/run';
import type { Permission } from '../shared/ports';
import type { WebhookContext } from './context';

/**
 * A sender's permission on a repository: from the memo (60 s), else the table's cache
 * (`permissionCacheSeconds`), else GitHub, the only GitHub read on the ack path.
 */
export async function permissionOf(ctx: WebhookContext, repo: string, login: string): Promise<Permission> {
  const key = `perm:${repo}:${login}`.toLowerCase();
  const value = await ctx.memo(key, async () => {
    const cached = await ctx.store.cacheGet(key);
    if (cached) return cached;
    const permission = await ctx.github.getPermission(repoRefOf(repo), login);
    await ctx.store.cachePut(key, permission, ctx.config.permissionCacheSeconds);
    return permission;
  });
  return value as Permission;
}
