import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../../config/configuration';
import { PortalCookies } from './portal-cookies';

function cookiesFor(publicBaseUrl: string) {
  return new PortalCookies({ get: () => ({ publicBaseUrl }) } as unknown as ConfigService<Config, true>);
}

function fakeReply() {
  const headers: Record<string, unknown> = {};
  const reply = { getHeader: (name: string) => headers[name], header: (name: string, value: unknown) => ((headers[name] = value), reply) };
  return { reply: reply as unknown as FastifyReply, headers };
}

describe('portal cookies', () => {
  it('are httpOnly, SameSite=Lax and scoped to /portal; Secure exactly when the public URL is https', () => {
    for (const [base, secure] of [
      ['http://localhost:3000', false],
      ['https://partners.example', true],
    ] as const) {
      const { reply, headers } = fakeReply();
      cookiesFor(base).startSession(reply, 'tok', 600);
      const [cookie] = headers['set-cookie'] as string[];
      expect(cookie).toBe(`afx_session=tok; Path=/portal; HttpOnly; SameSite=Lax; Max-Age=600${secure ? '; Secure' : ''}`);
    }
  });

  it('keeps every cookie set on one reply and ends a session with Max-Age=0', () => {
    const { reply, headers } = fakeReply();
    const cookies = cookiesFor('https://partners.example');
    cookies.preSessionToken({ headers: {} } as FastifyRequest, reply);
    cookies.endSession(reply);
    expect(headers['set-cookie']).toEqual([
      expect.stringMatching(/^afx_csrf=[\w-]{43}; Path=\/portal; HttpOnly; SameSite=Lax; Max-Age=86400; Secure$/),
      'afx_session=; Path=/portal; HttpOnly; SameSite=Lax; Max-Age=0; Secure',
    ]);
  });

  it('reuses a valid double-submit token and replaces a malformed one', () => {
    const token = 'a'.repeat(43);
    expect(cookiesFor('http://x').preSessionToken({ headers: { cookie: `afx_csrf=${token}` } } as FastifyRequest, fakeReply().reply)).toBe(token);
    expect(cookiesFor('http://x').preSessionToken({ headers: { cookie: 'afx_csrf=<script>' } } as FastifyRequest, fakeReply().reply)).toMatch(/^[\w-]{43}$/);
  });
});
