/** A failure the REST layer answers with `status` and GitHub's error body (`errors` when given). */
export class ForgeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[],
  ) {
    super(message);
    this.name = 'ForgeError';
  }
}
