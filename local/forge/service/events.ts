import { installationJson, type Urls, userJson } from '../payloads';
import type { RepoRecord, UserRecord } from '../state';
import type { WebhookSender } from '../webhooks';
import type { Repos } from './repos';

/** The webhooks a change raises, each with GitHub's common repository, sender and installation. */
export class Events {
  private closed = false;

  constructor(
    private readonly urls: Urls,
    private readonly sender: WebhookSender,
    private readonly repos: Repos,
  ) {}

  close(): void {
    this.closed = true;
  }

  emit(event: string, repo: RepoRecord, actor: UserRecord, fields: Record<string, unknown>): void {
    if (this.closed) return;
    const payload = {
      ...fields,
      repository: this.repos.json(repo),
      sender: userJson(this.urls, actor),
      installation: installationJson(),
    };
    void this.sender.send(event, payload);
  }
}
