import { approvalKey } from '../shared/approval-links';
import type { Clock, GitHub, Log, Secrets, Store, Workflow } from '../shared/ports';

export interface ApprovalsSettings {
  approvalKeySecretId: string;
  /** Where the approval pages are served (PUBLIC_BASE_URL): its origin is the only one that may POST a decision. */
  publicBaseUrl: string;
  /** Approvers for runs whose contract names none (the stage runner's fallback too). */
  defaultApprovers: Array<{ login: string; email: string }>;
  /** Larger POST bodies are refused before parsing. */
  maxBodyBytes?: number;
}

export interface ApprovalsPorts {
  store: Store;
  github: GitHub;
  workflow: Workflow;
  secrets: Secrets;
  clock: Clock;
  log: Log;
  settings: ApprovalsSettings;
}

/** The key that signs links and forms, derived from the secret (read through the cache of `secrets`). */
export async function signingKeyOf(ports: Pick<ApprovalsPorts, 'secrets' | 'settings'>): Promise<Buffer> {
  return approvalKey(await ports.secrets.get(ports.settings.approvalKeySecretId));
}
