export const MAX_TOOL_OUTPUT_CHARS = 16_000;

/** Outputs larger than the limit keep their head and say how much was cut. */
export function truncate(text: string, limit = MAX_TOOL_OUTPUT_CHARS): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}\n[... truncated ${text.length - limit} characters ...]`;
}
