/**
 * Store cache key under which the pipeline's admit stage records a repo's configured trigger label
 * after loading its contract (the webhook never reads factory.yml on the ack path).
 */
export const triggerLabelCacheKey = (repo: string): string => `trigger-label:${repo.toLowerCase()}`;
