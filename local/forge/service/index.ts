import type { RenderContext, Urls } from '../payloads';
import type { ForgeState } from '../state';
import type { WebhookSender } from '../webhooks';
import { Checks } from './checks';
import { Comments } from './comments';
import { Events } from './events';
import { GitData } from './git-data';
import { Issues } from './issues';
import { Labels, labelOf } from './labels';
import { Merges } from './merges';
import { PullLifecycle } from './pull-lifecycle';
import { PullViews } from './pull-views';
import { Pulls } from './pulls';
import { RefEvents } from './ref-events';
import { Repos } from './repos';
import { Reviews } from './reviews';
import { Statuses } from './statuses';
import { Users } from './users';

/**
 * The forge's behaviour, shared by the REST API, the pages, git smart HTTP and the test/stack
 * actions: one part per concept, all over the one ForgeState. Each change persists the state and
 * raises the webhooks GitHub would.
 */

export interface ForgeServiceOptions {
  state: ForgeState;
  reposDir: string;
  urls: Urls;
  webhooks: WebhookSender;
  ciTimeoutMs: number;
  ciConcurrency: number;
}

export class ForgeService {
  readonly urls: Urls;
  readonly users: Users;
  readonly repos: Repos;
  readonly labels: Labels;
  readonly issues: Issues;
  readonly comments: Comments;
  readonly pullViews: PullViews;
  readonly pulls: Pulls;
  readonly reviews: Reviews;
  readonly merges: Merges;
  readonly checks: Checks;
  readonly statuses: Statuses;
  readonly gitData: GitData;
  private readonly events: Events;
  private readonly webhooks: WebhookSender;

  // Built bottom-up: each part is handed only parts built before it, so none needs late binding.
  constructor(options: ForgeServiceOptions) {
    const { state, urls } = options;
    this.urls = urls;
    this.webhooks = options.webhooks;
    this.users = new Users(state);
    this.repos = new Repos(state, this.users, urls, options.reposDir);
    const render: RenderContext = {
      urls,
      user: (login) => this.users.orGhost(login),
      label: (repo, name) => labelOf(state, repo, name),
    };
    this.events = new Events(urls, options.webhooks, this.repos);
    this.checks = new Checks(state, urls, this.repos, this.users, this.events, {
      timeoutMs: options.ciTimeoutMs,
      concurrency: options.ciConcurrency,
    });
    this.statuses = new Statuses(state, urls, this.repos, this.users);
    this.pullViews = new PullViews(state, this.repos, this.users, render);
    const refEvents = new RefEvents(urls, this.repos, this.events);
    const lifecycle = new PullLifecycle(
      state,
      this.repos,
      this.events,
      this.pullViews,
      this.checks,
      refEvents,
    );
    this.labels = new Labels(state, urls, this.repos, this.events, render, this.pullViews);
    this.issues = new Issues(state, this.repos, this.events, render, this.labels, this.pullViews, lifecycle);
    this.comments = new Comments(state, this.repos, this.events, render);
    this.pulls = new Pulls(
      state,
      this.repos,
      this.events,
      this.issues,
      this.pullViews,
      lifecycle,
      this.checks,
    );
    this.reviews = new Reviews(state, this.repos, this.events, render, this.pullViews);
    this.merges = new Merges(this.repos, this.users, this.events, this.issues, this.pullViews, lifecycle);
    this.gitData = new GitData(this.repos, this.users, lifecycle);
  }

  get busy(): boolean {
    return this.checks.running || !this.webhooks.idle;
  }

  /** Stops raising webhooks and kills running CI commands; resolves when no CI run is left (bounded). */
  async close(timeoutMs = 5000): Promise<void> {
    this.events.close();
    await this.checks.close(timeoutMs);
  }
}
