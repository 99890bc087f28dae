import crypto from 'node:crypto';

/** How long a one-time address may wait to be opened: long enough to click, short enough that a copy in a log or `ps` is stale. */
export const ONE_TIME_TTL_MS = 2 * 60_000;
/** A session nobody uses for this long ends (a workstation left overnight); a restart ends them all. */
export const SESSION_IDLE_MS = 12 * 60 * 60_000;

export type ExchangeOutcome = { ok: true; sessionId: string } | { ok: false; reason: 'unknown' | 'used' | 'expired' };

const digest = (secret: string): string => crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
const randomSecret = (): string => crypto.randomBytes(32).toString('base64url');

/**
 * The screens' sessions, in memory: a one-time code (in the address the runner prints or `npm run open` asks
 * for) is exchanged once for a session id, which the browser keeps as an HttpOnly cookie. Only digests are
 * held, so a heap dump shows no usable secret; a restart ends every session (the page then says how to get back in).
 * The doctor's unlock and other per-screen state can hang off the session id later.
 */
export class ScreenSessions {
  private readonly codes = new Map<string, { expiresAt: number; usedAt?: number }>();
  private readonly sessions = new Map<string, { lastSeen: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new one-time code, valid for ONE_TIME_TTL_MS and one exchange. */
  mintCode(): string {
    this.prune();
    const code = randomSecret();
    this.codes.set(digest(code), { expiresAt: this.now() + ONE_TIME_TTL_MS });
    return code;
  }

  exchange(code: string): ExchangeOutcome {
    const key = digest(code);
    const entry = this.codes.get(key);
    if (!entry) return { ok: false, reason: 'unknown' };
    if (entry.usedAt !== undefined) return { ok: false, reason: 'used' };
    if (this.now() > entry.expiresAt) return { ok: false, reason: 'expired' };
    // Kept, marked used, until it would have expired: a second opening is told "already used", not "unknown".
    entry.usedAt = this.now();
    const sessionId = randomSecret();
    this.sessions.set(digest(sessionId), { lastSeen: this.now() });
    return { ok: true, sessionId };
  }

  /** True for a live session; using it keeps it alive. */
  touch(sessionId: string | undefined): boolean {
    if (!sessionId) return false;
    const key = digest(sessionId);
    const session = this.sessions.get(key);
    if (!session) return false;
    if (this.now() - session.lastSeen > SESSION_IDLE_MS) {
      this.sessions.delete(key);
      return false;
    }
    session.lastSeen = this.now();
    return true;
  }

  end(sessionId: string | undefined): void {
    if (sessionId) this.sessions.delete(digest(sessionId));
  }

  private prune(): void {
    const t = this.now();
    for (const [k, v] of this.codes) if (t > v.expiresAt) this.codes.delete(k);
    for (const [k, v] of this.sessions) if (t - v.lastSeen > SESSION_IDLE_MS) this.sessions.delete(k);
  }
}
