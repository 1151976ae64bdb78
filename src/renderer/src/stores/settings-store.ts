import { createStore, type StoreApi } from 'zustand/vanilla';
import { parseDocument, type Document } from 'yaml';
import type { AgentApi, DesktopSettings } from '../../../shared/agent-api.js';

type Path = ReadonlyArray<string | number>;

/** The settings screen: desktop preferences, and the agent's YAML edited field by field or as text. */
export interface SettingsState {
  readonly desktop: DesktopSettings | null;
  readonly configPath: string;
  /** The YAML text being edited (saved only through `save`, which validates). */
  readonly yaml: string;
  readonly dirty: boolean;
  readonly errors: ReadonlyArray<{ readonly path: string; readonly message: string }>;
  readonly message: string | null;
  load(): Promise<void>;
  setDesktop(patch: Partial<DesktopSettings>): Promise<void>;
  setYaml(text: string): void;
  /** Reads a value from the YAML (undefined when absent or the text does not parse). */
  getValue(path: Path): unknown;
  /** Writes a value into the YAML (null/'' removes the key). */
  setValue(path: Path, value: unknown): void;
  save(): Promise<boolean>;
}

/** Creates the settings store for an injected API. */
export function createSettingsStore(api: AgentApi): StoreApi<SettingsState> {
  let doc: Document | null = null;
  const parse = (text: string): Document | null => {
    const d = parseDocument(text);
    return d.errors.length > 0 ? null : d;
  };
  return createStore<SettingsState>((set, get) => ({
    desktop: null,
    configPath: '',
    yaml: '',
    dirty: false,
    errors: [],
    message: null,
    load: async () => {
      const [desktop, config] = await Promise.all([api.getSettings(), api.getConfig()]);
      doc = parse(config.yaml);
      set({ desktop, configPath: config.path, yaml: config.yaml, dirty: false, errors: [], message: null });
    },
    setDesktop: async (patch) => {
      try {
        set({ desktop: await api.setSettings(patch), message: null });
      } catch (e) {
        set({ message: e instanceof Error ? e.message : String(e) });
      }
    },
    setYaml: (text) => {
      doc = parse(text);
      set({ yaml: text, dirty: true, message: doc ? null : 'The YAML does not parse yet; fix it before saving.' });
    },
    getValue: (path) => {
      const v = doc?.getIn(path as Path & unknown[]);
      return v && typeof v === 'object' && 'toJSON' in v ? (v as { toJSON(): unknown }).toJSON() : v;
    },
    setValue: (path, value) => {
      if (!doc) doc = parseDocument(get().yaml || '{}');
      const p = [...path];
      if (value === null || value === '' || (Array.isArray(value) && value.length === 0)) doc.deleteIn(p);
      else doc.setIn(p, value);
      set({ yaml: doc.toString(), dirty: true });
    },
    save: async () => {
      const result = await api.saveConfig(get().yaml);
      if (result.ok) {
        set({ dirty: false, errors: [], message: 'Saved and applied.' });
        return true;
      }
      set({ errors: result.errors, message: `Not saved: ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'} to fix.` });
      return false;
    },
  }));
}
