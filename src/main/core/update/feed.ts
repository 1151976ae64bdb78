import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Agent, request, type Dispatcher } from 'undici';
import { isLoopbackHost } from '../managed/transport.js';
import { UpdateRefused, type Artifact } from './manifest.js';

/** Where releases come from: an https:// base URL, or a directory (a mounted share, a test). */
export interface FeedOptions {
  readonly feed: string;
  /** PEM of a private CA that signed the feed server's certificate. */
  readonly ca?: string | null;
}

/** Fetches and downloads from one feed; `close()` ends its connections. */
export class Feed {
  readonly #base: URL;
  readonly #dispatcher: Dispatcher | null;

  constructor(opts: FeedOptions) {
    this.#base = feedBase(opts.feed);
    this.#dispatcher =
      this.#base.protocol === 'https:' || this.#base.protocol === 'http:'
        ? new Agent({ connect: { rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(opts.ca ? { ca: opts.ca } : {}) }, keepAliveTimeout: 5_000 })
        : null;
  }

  /** The channel's manifest bytes and its detached signature text. */
  async manifest(channel: string): Promise<{ bytes: Buffer; sig: string; url: URL }> {
    const url = new URL(`${channel}.json`, this.#base);
    const [bytes, sig] = await Promise.all([this.#get(url, 1 << 20), this.#get(new URL(`${channel}.json.sig`, url), 4096)]);
    return { bytes, sig: sig.toString('utf8'), url };
  }

  /**
   * Streams an artifact into `dest` (mode 0755), hashing as it goes; refuses more bytes than the manifest's size
   * and a SHA-256 that differs. `dest` is removed when anything is wrong.
   */
  async download(a: Artifact, relativeTo: URL, dest: string): Promise<void> {
    const url = new URL(a.url, relativeTo);
    const hash = createHash('sha256');
    let seen = 0;
    try {
      const body = await this.#open(url);
      body.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > a.size) body.destroy(new UpdateRefused(`the download of ${url.href} is larger than the signed size ${a.size}`));
        else hash.update(chunk);
      });
      await pipeline(body, createWriteStream(dest, { mode: 0o755 }));
      if (seen !== a.size) throw new UpdateRefused(`the download of ${url.href} has ${seen} bytes, the signed manifest says ${a.size}`);
      const got = hash.digest('hex');
      if (got !== a.sha256) throw new UpdateRefused(`the downloaded binary's SHA-256 is ${got}, the signed manifest says ${a.sha256}: refused`);
    } catch (e) {
      await rm(dest, { force: true });
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.#dispatcher?.close();
  }

  async #get(url: URL, limit: number): Promise<Buffer> {
    if (url.protocol === 'file:') return readFile(fileURLToPath(url)).catch((e: Error) => Promise.reject(new Error(`update feed: ${e.message}`)));
    const body = await this.#open(url);
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) throw new Error(`update feed: ${url.href} is larger than ${limit} bytes`);
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  async #open(url: URL): Promise<Readable> {
    if (url.protocol === 'file:') return createReadStream(fileURLToPath(url));
    if (!this.#dispatcher) throw new UpdateRefused(`update feed: ${url.href} is not on the feed's scheme`);
    if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) throw new UpdateRefused(`update feed: ${url.href} is not https://`);
    const res = await request(url, { dispatcher: this.#dispatcher, signal: AbortSignal.timeout(10 * 60_000), headersTimeout: 30_000 }).catch((e: Error) => {
      throw new Error(`update feed: ${url.href}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`update feed: ${url.href} answered HTTP ${res.statusCode}`);
    }
    return res.body;
  }
}

/** The feed as a base URL ending in `/`: https:// (http:// only to a loopback address), or a local directory. */
export function feedBase(feed: string): URL {
  if (/^https?:\/\//i.test(feed)) {
    const u = new URL(feed.endsWith('/') ? feed : `${feed}/`);
    if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) throw new Error(`update.feed: ${feed} must be https:// (http:// only to a loopback address)`);
    return u;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(feed)) throw new Error(`update.feed: ${feed} must be an https:// URL or a directory`);
  const dir = isAbsolute(feed) ? feed : resolvePath(feed);
  return pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`);
}
