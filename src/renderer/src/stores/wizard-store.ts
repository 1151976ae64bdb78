import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentApi, RepositoryProbe } from '../../../shared/agent-api.js';
import { buildRepository, checkFolders, checkPassword, SUGGESTED_EXCLUDES, type RepoKind } from '../wizard/repository-form.js';

/** The wizard's steps, in order (standalone); managed mode has only `mode` and `managed`. */
export type WizardStep = 'mode' | 'repository' | 'password' | 'test' | 'folders' | 'schedule' | 'managed' | 'done';

const STANDALONE: ReadonlyArray<WizardStep> = ['mode', 'repository', 'password', 'test', 'folders', 'schedule', 'done'];

/** Everything the first-run wizard collects, with per-step validation in plain words. */
export interface WizardState {
  readonly step: WizardStep;
  readonly mode: 'standalone' | 'managed';
  readonly kind: RepoKind;
  readonly fields: Readonly<Record<string, string>>;
  readonly fieldErrors: Readonly<Record<string, string>>;
  readonly password: string;
  readonly confirm: string;
  readonly probe: RepositoryProbe | null;
  readonly folders: ReadonlyArray<string>;
  readonly excludes: ReadonlyArray<string>;
  readonly policy: string;
  /** `insecureLoopback`: the "plain http to this machine (testing)" box. */
  readonly managed: { readonly url: string; readonly token: string; readonly caFile: string; readonly insecureLoopback?: boolean };
  /** The message shown under the current step (validation or a failed call). */
  readonly error: string | null;
  readonly busy: boolean;
  set(patch: Partial<Pick<WizardState, 'mode' | 'kind' | 'password' | 'confirm' | 'folders' | 'excludes' | 'policy' | 'managed'>>): void;
  setField(name: string, value: string): void;
  generatePassword(): Promise<void>;
  /** Validates the current step and moves on (the test step runs the live test first). */
  next(): Promise<void>;
  back(): void;
  testRepository(): Promise<void>;
  finish(): Promise<boolean>;
}

/** Creates the wizard store for an injected API. */
export function createWizardStore(api: AgentApi): StoreApi<WizardState> {
  return createStore<WizardState>((set, get) => {
    const repository = () => {
      const s = get();
      const built = buildRepository(s.kind, s.fields);
      return built.ok ? { url: built.url, password: s.password, env: built.env } : null;
    };
    const go = (step: WizardStep) => set({ step, error: null });
    const call = async <T>(fn: () => Promise<T>): Promise<T | null> => {
      set({ busy: true, error: null });
      try {
        return await fn();
      } catch (e) {
        set({ error: e instanceof Error ? e.message : String(e) });
        return null;
      } finally {
        set({ busy: false });
      }
    };
    return {
      step: 'mode',
      mode: 'standalone',
      kind: 'local',
      fields: {},
      fieldErrors: {},
      password: '',
      confirm: '',
      probe: null,
      folders: [],
      excludes: SUGGESTED_EXCLUDES.filter((e) => e.checked).map((e) => e.pattern),
      policy: 'daily',
      managed: { url: '', token: '', caFile: '', insecureLoopback: false },
      error: null,
      busy: false,
      set: (patch) => set({ ...patch, error: null, ...('kind' in patch ? { fieldErrors: {}, probe: null } : {}) }),
      setField: (name, value) =>
        set({ fields: { ...get().fields, [name]: value }, fieldErrors: { ...get().fieldErrors, [name]: '' }, probe: null, error: null }),
      generatePassword: async () => {
        const pw = await call(() => api.generatePassword());
        if (pw) set({ password: pw, confirm: pw });
      },
      testRepository: async () => {
        const repo = repository();
        if (!repo) return;
        const probe = await call(() => api.testRepository(repo));
        if (probe) set({ probe, error: probe.state === 'wrong-password' || probe.state === 'unreachable' ? explainProbe(probe) : null });
      },
      next: async () => {
        const s = get();
        switch (s.step) {
          case 'mode':
            return go(s.mode === 'managed' ? 'managed' : 'repository');
          case 'repository': {
            const built = buildRepository(s.kind, s.fields);
            if (!built.ok) return set({ fieldErrors: built.errors, error: 'Some fields need attention.' });
            return go('password');
          }
          case 'password': {
            const problem = checkPassword(s.password, s.confirm);
            return problem ? set({ error: problem }) : go('test');
          }
          case 'test':
            if (!s.probe) await get().testRepository();
            if (get().probe?.state === 'exists' || get().probe?.state === 'missing') return go('folders');
            return;
          case 'folders': {
            const problem = checkFolders(s.folders);
            return problem ? set({ error: problem }) : go('schedule');
          }
          case 'schedule':
          case 'managed':
            if (await get().finish()) go('done');
            return;
          default:
            return;
        }
      },
      back: () => {
        const s = get();
        if (s.step === 'managed') return go('mode');
        const i = STANDALONE.indexOf(s.step);
        if (i > 0) go(STANDALONE[i - 1] ?? 'mode');
      },
      finish: async () => {
        const s = get();
        const result =
          s.mode === 'managed'
            ? await call(() =>
                api.setupManaged({
                  url: s.managed.url.trim(),
                  enrollmentToken: s.managed.token.trim(),
                  caFile: s.managed.caFile.trim() || null,
                  // Only sent when ticked, and only meaningful for an http:// address.
                  ...(s.managed.insecureLoopback && isHttp(s.managed.url) ? { insecureLoopback: true } : {}),
                }),
              )
            : await call(async () => {
                const repo = repository();
                if (!repo) throw new Error('The repository settings are incomplete; go back to the first step.');
                return api.setupStandalone({
                  repository: repo,
                  initialise: s.probe?.state === 'missing',
                  sources: s.folders,
                  exclude: s.excludes,
                  policy: s.policy,
                });
              });
        if (!result) return false;
        if (!result.ok) {
          const hint =
            s.mode === 'managed' && isHttp(s.managed.url) && !s.managed.insecureLoopback
              ? '\nFor a test server on this computer, tick “Allow plain http to this machine (testing)”.'
              : '';
          set({ error: result.errors.map((e) => `${e.path}: ${e.message}`).join('\n') + hint });
          return false;
        }
        return true;
      },
    };
  });
}

/** The live test's answer in plain words. */
export function explainProbe(probe: RepositoryProbe): string {
  switch (probe.state) {
    case 'exists':
      return `Found an existing repository and opened it with this password. Backups will be added to it. (${probe.message})`;
    case 'missing':
      return `The location is reachable and empty: a new repository will be created there. (${probe.message})`;
    case 'wrong-password':
      return `A repository exists there, but this password does not open it. Enter the password it was created with. (${probe.message})`;
    case 'unreachable':
      return `The location could not be reached: check the address, credentials and network. (${probe.message})`;
  }
}

/** True for a plain `http://` address (the wizard then offers the loopback testing option). */
export function isHttp(url: string): boolean {
  return /^\s*http:\/\//i.test(url);
}
