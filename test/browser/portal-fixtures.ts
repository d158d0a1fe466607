import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { UsersService } from '../../src/modules/portal/auth/users.service';
import type { TestApp } from '../support/create-test-app';
import { uniqueEmail } from '../support/seed/factories';

export { uniqueEmail };

export const PASSWORD = 'correct horse battery staple';

/** A person of an existing principal, through the real invitation path (invite, then accept). */
export async function addUser(t: TestApp, principalId: string, email = uniqueEmail('person'), name = 'Test Person'): Promise<{ email: string; password: string }> {
  const users = t.app.get(UsersService);
  const { link } = await users.invite({ userId: null, userName: 'Test admin' }, principalId, email);
  const user = await users.acceptInvite(link.split('/').pop() as string, { name, password: PASSWORD, timeZone: 'UTC' });
  if (!user) throw new Error('invitation was not accepted');
  return { email, password: PASSWORD };
}

/** The hidden CSRF token of the first form of a page. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token on the page');
  return match[1];
}

export interface SignedInAgent {
  agent: TestAgent;
  csrf: string;
}

/** Signs in through the login form like a browser: cookie jar, double-submit token, then the session's token. */
export async function signIn(t: TestApp, email: string, password = PASSWORD): Promise<SignedInAgent> {
  const agent = request.agent(t.app.getHttpServer());
  const form = await agent.get('/portal/login').expect(200);
  const res = await agent
    .post('/portal/login')
    .type('form')
    .send({ _csrf: csrfOf(form.text), email, password });
  if (res.status !== 303) throw new Error(`sign-in of ${email}: ${res.status} ${res.text.slice(0, 300)}`);
  const page = await agent.get('/portal/settings').expect(200);
  return { agent, csrf: csrfOf(page.text) };
}
