export interface ErrorDef {
  /** Template; `{name}` is replaced from the error's params. Must tell the user what to do. */
  message: string;
  /** Provider errors default to this; a thrower may override per instance. */
  retryable?: boolean;
  /** `warning` codes (VB_WARN_*) never stop a boot. */
  severity?: 'error' | 'warning';
}

export function defineErrors<const T extends Record<string, ErrorDef>>(defs: T): T {
  return defs;
}
