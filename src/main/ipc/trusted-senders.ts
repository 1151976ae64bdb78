/** The part of `WebContents` the trust check needs. */
export interface SenderLike {
  readonly id: number;
  once(event: 'destroyed', listener: () => void): unknown;
}

/** The part of an IPC event the trust check needs. */
export interface IpcEventLike {
  readonly sender: { readonly id: number };
  readonly senderFrame?: { readonly url: string } | null;
}

/**
 * The web contents allowed to talk to main (Electron security checklist item 17).
 *
 * A window's `webContents` is added when the window is created and forgotten when it is destroyed; a message
 * is trusted only when it comes from one of them AND its frame shows the app's own page.
 */
export class TrustedSenders {
  readonly #ids = new Set<number>();

  /** @param isAppUrl says whether a frame URL is the app's own page (e.g. the packaged index.html). */
  constructor(private readonly isAppUrl: (url: string) => boolean) {}

  add(contents: SenderLike): void {
    this.#ids.add(contents.id);
    contents.once('destroyed', () => this.#ids.delete(contents.id));
  }

  /** True when the event comes from a trusted window showing the app's page. */
  isTrusted(event: IpcEventLike): boolean {
    if (!this.#ids.has(event.sender.id)) return false;
    const url = event.senderFrame?.url;
    return typeof url === 'string' && this.isAppUrl(url);
  }

  get size(): number {
    return this.#ids.size;
  }
}

/** A URL predicate that accepts pages under `baseUrl` (a `file://…/renderer/` folder or a dev server origin). */
export function urlUnder(baseUrl: string): (url: string) => boolean {
  const base = new URL(baseUrl);
  const prefix = base.protocol === 'file:' ? base.href.replace(/[^/]*$/, '') : base.origin + '/';
  return (url) => {
    try {
      const u = new URL(url);
      return u.protocol === base.protocol && (u.href.startsWith(prefix) || u.origin + '/' === prefix);
    } catch {
      return false;
    }
  };
}
