import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { haproxyConfig } from '../scale/support/topology';

const docker = (file: string) => readFileSync(resolve(__dirname, '../../docker', file), 'utf8');

/** docker/compose.scale.yml is the topology test:scale runs, for Docker users: kept the same. */
describe('docker/compose.scale.yml', () => {
  it('balances with the HAProxy configuration test:scale runs', () => {
    const backends = [
      { name: 'api1', url: 'http://api-1:3000' },
      { name: 'api2', url: 'http://api-2:3000' },
    ];
    expect(docker('scale/haproxy.cfg')).toBe(haproxyConfig('*:8080', backends));
  });

  it('runs the Redis nodes with the flags test:scale gives them, six of them, and every API and worker process on the cluster and the replica', () => {
    const compose = docker('compose.scale.yml');
    const topology = readFileSync(resolve(__dirname, '../scale/support/topology.ts'), 'utf8');
    for (const flag of ['--cluster-enabled', '--cluster-node-timeout', '--appendonly', '--appendfsync']) {
      const value = (text: string) => new RegExp(`'${flag}', '([^']+)'|"${flag}", "([^"]+)"`).exec(text)?.slice(1).find(Boolean);
      expect({ flag, compose: value(compose) }).toEqual({ flag, compose: value(topology) });
    }
    expect(compose.match(/^ {2}redis-\d: \*redis-node$/gm)).toHaveLength(6);
    expect(docker('scale/redis-cluster-create.sh')).toMatch(/--cluster-replicas 1 --cluster-yes/);
    for (const setting of ['REDIS_CLUSTER_NODES', 'DATABASE_REPLICA_URL', 'CLICK_SECRET']) expect(compose).toContain(`${setting}:`);
    expect(compose.match(/^ {2}(api|worker)-\d:$/gm)).toHaveLength(4);
  });
});
