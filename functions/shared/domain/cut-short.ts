/** Stop reasons that end an answer part-way: such an answer is never used as is (SPEC §4). */
const CUT = new Set(['max_tokens', 'model_context_window_exceeded']);

export const wasCutShort = (stopReason: string | undefined): boolean => CUT.has(stopReason ?? '');
