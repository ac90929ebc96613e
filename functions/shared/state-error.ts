/** `$.error` as Step Functions hands it over: Cause is often the Lambda error as JSON. */
export interface StateError {
  Error?: string;
  Cause?: string;
}

/**
 * The cause as a person should read it: a Lambda error's message only, never its JSON with the
 * error type and the stack trace (file paths); any other text as it came.
 */
export function causeText(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the text as it came
  }
  return cause;
}
