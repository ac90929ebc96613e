/**
 * The run's status comment on the issue. It lives in shared/run-cleanup.ts because a cancel from
 * the API or a webhook updates it too; stages import it from here by its stage-side name.
 */
export { renderStatus, STATUS_COMMENT_MARKER as MARKER, updateStatusComment } from '../shared/run-cleanup';
