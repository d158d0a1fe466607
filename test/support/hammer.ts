import { Agent, get } from 'node:http';

export interface HammerResult {
  status: number;
  body: { id?: string; status?: string; error?: unknown };
}

/**
 * Sends `count` GETs to a listening app at once, over a bounded pool of keep-alive sockets, so
 * the server sees real concurrency without the listen backlog overflowing. Every answer is kept.
 */
export async function hammer(url: string, count: number, sockets = 100): Promise<HammerResult[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  try {
    return await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<HammerResult>((resolve, reject) => {
            get(url, { agent }, (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
            }).on('error', reject);
          }),
      ),
    );
  } finally {
    agent.destroy();
  }
}
