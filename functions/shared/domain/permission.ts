import type { Permission } from '../ports';

/** Repository permissions that may start, steer or answer a run. */
export const WRITERS: ReadonlySet<Permission> = new Set(['write', 'maintain', 'admin']);
