import { UsersService } from '../../src/modules/portal/auth/users.service';
import { signIn } from '../browser/portal-fixtures';
import { createTestApp, TestApp } from '../support/create-test-app';

describe('the first portal admin', () => {
  let t: TestApp;
  const env = { ADMIN_EMAIL: 'Owner@Network.example', ADMIN_PASSWORD: 'a long first password' };

  beforeAll(async () => {
    t = await createTestApp({ env });
  });
  afterAll(() => t.close());

  it('is created from ADMIN_EMAIL and ADMIN_PASSWORD at start, once, on the admin principal', async () => {
    await Promise.all([t.app.get(UsersService).onApplicationBootstrap(), t.app.get(UsersService).onApplicationBootstrap()]);
    const users = await t.dataSource.query(`SELECT u.email, p.role FROM portal_users u JOIN principals p ON p.id = u.principal_id`);
    expect(users).toEqual([{ email: env.ADMIN_EMAIL, role: 'admin' }]);
    const { agent } = await signIn(t, 'owner@network.example', env.ADMIN_PASSWORD);
    const home = await agent.get('/portal').expect(303);
    expect(home.headers.location).toBe('/portal/admin');
    await agent.get('/portal/admin').expect(200);
  });

  it('refuses a short ADMIN_PASSWORD with one clear line naming the setting', async () => {
    const { validateEnvironment } = await import('../../src/config/env.validation');
    expect(() => validateEnvironment({ ADMIN_EMAIL: 'a@b.example', ADMIN_PASSWORD: 'short' })).toThrow('Invalid configuration: ADMIN_PASSWORD must be at least 12 characters');
  });
});
