import type Dockerode from 'dockerode';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** The Engine API client; loaded only when a docker source runs, so other agents never pay for it. */
export async function connect(socketPath: string): Promise<Dockerode> {
  const { default: Client } = await import('dockerode');
  return new Client({ socketPath });
}

/** The HTTP status of an Engine API error (404: no such thing, 304: nothing to do, 409: conflict). */
export const statusOf = (e: unknown): number | undefined => (e as { statusCode?: number }).statusCode;
