import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'minerhaul_fleet_session';
const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The admin token guards the dashboard, /v1/adoption and /metrics: sent as `Authorization: Bearer`
 * (scripts, Prometheus) or exchanged once on the login page for a session cookie (browsers).
 * Sessions live in memory: a restart logs everyone out, which is fine for a single admin tool.
 */
export class AdminAuth {
  private readonly tokenDigest: Buffer;
  private readonly sessions = new Map<string, number>();

  constructor(
    token: string,
    private readonly now: () => number = Date.now,
  ) {
    this.tokenDigest = digest(token);
  }

  /** Constant-time comparison of digests: the token's length leaks nothing either. */
  checkToken(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  newSession(): string {
    this.dropExpired();
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (oldest.done !== true) this.sessions.delete(oldest.value);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, this.now() + SESSION_TTL_MS);
    return id;
  }

  endSession(id: string): void {
    this.sessions.delete(id);
  }

  isAuthorized(req: Request): boolean {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(.+)$/i.exec(header);
      return m?.[1] !== undefined && this.checkToken(m[1]);
    }
    const sid = sessionFromCookie(req.headers.cookie);
    if (sid === undefined) return false;
    const expires = this.sessions.get(sid);
    return expires !== undefined && expires > this.now();
  }

  private dropExpired(): void {
    const t = this.now();
    for (const [id, exp] of this.sessions) if (exp <= t) this.sessions.delete(id);
  }
}

export function sessionFromCookie(cookie: string | undefined): string | undefined {
  if (cookie === undefined) return undefined;
  for (const part of cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return rest.join('=');
  }
  return undefined;
}
