import type { GitIdentity } from '../git';
import { type ForgeState, newToken, nowIso, type UserRecord, type UserType } from '../state';
import { ForgeError } from './errors';

/** Accounts and their tokens: people, bots (the factory's app) and organisations (repo owners). */
export class Users {
  constructor(private readonly state: ForgeState) {}

  ensure(login: string, type: UserType = 'User', email?: string): UserRecord {
    const existing = this.state.data.users[login];
    if (existing) return existing;
    const user: UserRecord = {
      id: this.state.newId(),
      login,
      type,
      name: login,
      email: email ?? `${login.replace(/\[bot\]$/, '')}@users.noreply.forge.local`,
      createdAt: nowIso(),
      ...(type === 'Organization' ? {} : { token: newToken(type === 'Bot' ? 'ghs' : 'ghp') }),
    };
    this.state.data.users[login] = user;
    void this.state.persist();
    return user;
  }

  get(login: string): UserRecord | undefined {
    return this.state.data.users[login];
  }

  byToken(token: string): UserRecord | undefined {
    return Object.values(this.state.data.users).find(
      (user) => user.token !== undefined && user.token === token,
    );
  }

  tokens(): Record<string, string> {
    const tokens: Record<string, string> = {};
    for (const user of Object.values(this.state.data.users)) if (user.token) tokens[user.login] = user.token;
    return tokens;
  }

  /** GitHub shows a login it no longer knows as its "ghost" user. */
  orGhost(login: string): UserRecord {
    return (
      this.state.data.users[login] ?? {
        id: 10137,
        login: 'ghost',
        type: 'User',
        name: 'Deleted user',
        email: '',
        createdAt: nowIso(),
      }
    );
  }

  identityOf(user: UserRecord, date = new Date()): GitIdentity {
    return {
      name: user.type === 'Bot' ? user.login : user.name,
      email: user.type === 'Bot' ? `${user.id}+${user.login}@users.noreply.forge.local` : user.email,
      timestamp: Math.floor(date.getTime() / 1000),
      timezoneOffset: 0,
    };
  }
}

export function requireUser(actor: UserRecord | undefined): UserRecord {
  if (!actor) throw new ForgeError(401, 'Requires authentication');
  return actor;
}
