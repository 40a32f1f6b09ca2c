import type { Request } from 'express';
import { AdminAuth, SESSION_COOKIE, sessionFromCookie } from '../src/admin-auth';

const TOKEN = 'admin-token-0123456789';
const req = (headers: Record<string, string>): Request => ({ headers }) as unknown as Request;

describe('AdminAuth', () => {
  it('accepts the bearer token and refuses any other', () => {
    const auth = new AdminAuth(TOKEN);
    expect(auth.isAuthorized(req({ authorization: `Bearer ${TOKEN}` }))).toBe(true);
    expect(auth.isAuthorized(req({ authorization: `Bearer ${TOKEN}x` }))).toBe(false);
    expect(auth.isAuthorized(req({ authorization: `Basic ${TOKEN}` }))).toBe(false);
    expect(auth.isAuthorized(req({}))).toBe(false);
  });

  it('accepts a session until it expires or ends', () => {
    let now = 1_000_000;
    const auth = new AdminAuth(TOKEN, () => now);
    const sid = auth.newSession();
    const withCookie = req({ cookie: `other=1; ${SESSION_COOKIE}=${sid}` });
    expect(auth.isAuthorized(withCookie)).toBe(true);
    now += 12 * 3600_000 + 1;
    expect(auth.isAuthorized(withCookie)).toBe(false);
    const sid2 = auth.newSession();
    auth.endSession(sid2);
    expect(auth.isAuthorized(req({ cookie: `${SESSION_COOKIE}=${sid2}` }))).toBe(false);
  });

  it('refuses a made-up session id', () => {
    const auth = new AdminAuth(TOKEN);
    auth.newSession();
    expect(auth.isAuthorized(req({ cookie: `${SESSION_COOKIE}=forged` }))).toBe(false);
  });

  it('reads the session cookie among others', () => {
    expect(sessionFromCookie(`a=b; ${SESSION_COOKIE}=abc=; c=d`)).toBe('abc=');
    expect(sessionFromCookie('a=b')).toBeUndefined();
    expect(sessionFromCookie(undefined)).toBeUndefined();
  });
});
