/**
 * The one way tests wait: poll a condition, never a fixed sleep standing in for "it has probably happened".
 */

/** What a passing check returns: its value without the falsy cases. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `everyMs` until it returns a truthy value, and returns it; after `timeoutMs` it throws an error
 * naming `what` and the last value seen.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<Truthy<T>> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as Truthy<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)?.slice(0, 300)})`);
    await sleep(everyMs);
  }
}

/** Asserts that `check` stays truthy for `ms` (a negative assertion: "nothing happens"), polling every `everyMs`. */
export async function holdsFor(what: string, check: () => boolean | Promise<boolean>, ms: number, everyMs = 100): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await check())) throw new Error(`${what} stopped holding after ${ms - (end - Date.now())} ms`);
    await sleep(everyMs);
  }
}
