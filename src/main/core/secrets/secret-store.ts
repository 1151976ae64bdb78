/**
 * Where the agent keeps secrets: repository passwords, orchestrator tokens, backend credentials.
 *
 * Backends: the OS keyring (keytar: Keychain, Credential Manager, Secret Service) or a 0600 JSON file for
 * headless machines without one. Accounts are plain names such as `repo:default:password` or
 * `orchestrator:token:current`; the service name is fixed per installation.
 */
export interface SecretStore {
  /** `keyring (Secret Service)`, `keyring (macOS Keychain)`, `file (/path)`, `memory` … shown in status. */
  readonly backend: string;
  get(account: string): Promise<string | null>;
  set(account: string, value: string): Promise<void>;
  /** Returns true when something was deleted. */
  delete(account: string): Promise<boolean>;
}
