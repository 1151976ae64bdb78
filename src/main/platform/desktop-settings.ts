import { z } from 'zod';
import type { DesktopSettings } from '../../shared/agent-api.js';

/** Defaults for a fresh installation: start at login, alert on problems, stay quiet on success. */
export const DEFAULT_DESKTOP_SETTINGS: DesktopSettings = {
  autoStart: true,
  notifyOnSuccess: false,
  notifyOnFailure: true,
  notifyOnOverdue: true,
};

const schema = z.object({
  autoStart: z.boolean(),
  notifyOnSuccess: z.boolean(),
  notifyOnFailure: z.boolean(),
  notifyOnOverdue: z.boolean(),
});

/** A key-value store (electron-store in the app, a Map in tests). */
export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

/**
 * Desktop-only preferences (not part of the agent's YAML): read validated, written whole.
 *
 * A damaged value falls back to the defaults instead of crashing the app.
 */
export class DesktopSettingsStore {
  constructor(private readonly store: KeyValueStore) {}

  get(): DesktopSettings {
    const parsed = schema.safeParse({ ...DEFAULT_DESKTOP_SETTINGS, ...(asObject(this.store.get('desktop')) ?? {}) });
    return parsed.success ? parsed.data : DEFAULT_DESKTOP_SETTINGS;
  }

  set(patch: Partial<DesktopSettings>): DesktopSettings {
    const next = schema.parse({ ...this.get(), ...patch });
    this.store.set('desktop', next);
    return next;
  }
}

function asObject(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** The electron-store backed store, in the app's userData folder (`desktop-settings.json`). */
export async function openElectronSettingsStore(): Promise<KeyValueStore> {
  const { default: Store } = await import('electron-store');
  const store = new Store<Record<string, unknown>>({ name: 'desktop-settings', clearInvalidConfig: true });
  return { get: (k) => store.get(k), set: (k, v) => store.set(k, v) };
}
