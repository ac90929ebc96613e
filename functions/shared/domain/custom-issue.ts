import type * as z from 'zod';

/** A superRefine's finding at `path` of the input, with the message the caller (or model) reads. */
export const customIssue = (ctx: z.RefinementCtx, path: PropertyKey[], message: string): void =>
  ctx.addIssue({ code: 'custom', path, message });
