import { repoRefOf } from '../shared/domain/run';
import type { WebhookContext } from './context';

/**
 * A courtesy comment: bounded in time, and its failure never fails the delivery (Lambda cannot
 * work after it answers, so it is posted inline).
 */
export async function courtesyComment(
  ctx: WebhookContext,
  repo: string,
  issueNumber: number,
  body: string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      ctx.log.warn('comment timed out', { repo, issueNumber });
      resolve();
    }, ctx.config.commentTimeoutMs);
  });
  const post = ctx.github.createComment(repoRefOf(repo), issueNumber, body).then(
    () => undefined,
    (error: unknown) => ctx.log.warn('comment failed', { repo, issueNumber, error: errorName(error) }),
  );
  await Promise.race([post, timeout]).finally(() => clearTimeout(timer));
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}
