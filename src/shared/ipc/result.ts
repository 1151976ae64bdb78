/** An error sent over IPC as data (Electron would otherwise reduce it to "Error invoking remote method"). */
export interface IpcError {
  readonly name: string;
  readonly message: string;
  /** `invalid-argument`, `untrusted-sender`, `failed` … */
  readonly code: string;
  /** For `invalid-argument`: which field is wrong and how to fix it. */
  readonly issues?: ReadonlyArray<{ readonly path: string; readonly message: string }>;
}

/** The envelope every invoke handler returns. */
export type IpcResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: IpcError };

/** Wraps a value. */
export function ok<T>(value: T): IpcResult<T> {
  return { ok: true, value };
}

/** Wraps an error (or anything thrown) as data. */
export function fail(error: unknown, code = 'failed'): IpcResult<never> {
  const e = error instanceof Error ? error : new Error(String(error));
  const withCode = (e as Error & { code?: unknown }).code;
  return { ok: false, error: { name: e.name, message: e.message, code: typeof withCode === 'string' ? withCode : code } };
}

/** An Error rebuilt from an `IpcError`, keeping `code` and `issues`. */
export class AgentIpcError extends Error {
  readonly code: string;
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>;

  constructor(error: IpcError) {
    super(error.message);
    this.name = error.name === 'Error' ? 'AgentIpcError' : error.name;
    this.code = error.code;
    this.issues = error.issues ?? [];
  }
}

/** Returns the value, or throws the error as an `AgentIpcError`. */
export function unwrap<T>(result: IpcResult<T>): T {
  if (result.ok) return result.value;
  throw new AgentIpcError(result.error);
}
