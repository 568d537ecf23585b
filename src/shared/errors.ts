/**
 * Errors cross every boundary as data ({code, message}), because Electron's IPC only carries an
 * Error's message. Codes are stable strings the UI can branch on; messages are for people: they
 * say what happened and what to do next.
 */
export const ERROR_CODES = [
  'VALIDATION', // the payload does not match the channel's schema
  'UNKNOWN_CHANNEL', // no such channel in the contract
  'FORBIDDEN', // wrong sender frame, token or origin
  'NOT_FOUND', // a dataset, run, bundle or file that does not exist
  'BAD_INPUT', // well-formed request, but the data it names is unusable (corrupt image, wrong folder)
  'CONFLICT', // the thing exists already or is busy
  'CANCELLED', // the user cancelled
  'UNAVAILABLE', // a runtime piece is missing (backend, native module, binary)
  'ENGINE_CRASHED', // the engine process died; it is being restarted
  'TIMEOUT',
  'INTERNAL', // a bug: the message says so and details carry the stack
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorData {
  code: ErrorCode;
  message: string;
  /** What the user can do next, when we know. */
  hint?: string;
  /** Technical details (stack, paths, zod issues) for "copy details"; never shown by default. */
  details?: string;
}

export class StudioError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: string;
  constructor(code: ErrorCode, message: string, opts: { hint?: string; details?: string; cause?: unknown } = {}) {
    super(message);
    this.name = 'StudioError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
    if (opts.cause !== undefined) (this as { cause?: unknown }).cause = opts.cause;
  }
  toData(): ErrorData {
    const d: ErrorData = { code: this.code, message: this.message };
    if (this.hint) d.hint = this.hint;
    if (this.details) d.details = this.details;
    return d;
  }
}

/** Turn anything thrown into error data; unknown errors become INTERNAL with the stack as details. */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof StudioError) return err.toData();
  if (err && typeof err === 'object' && 'code' in err && 'message' in err) {
    const e = err as { code: unknown; message: unknown; hint?: unknown; details?: unknown };
    if (typeof e.code === 'string' && (ERROR_CODES as readonly string[]).includes(e.code) && typeof e.message === 'string') {
      return {
        code: e.code as ErrorCode,
        message: e.message,
        ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
        ...(typeof e.details === 'string' ? { details: e.details } : {}),
      };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: 'INTERNAL',
    message: `Unexpected error: ${message}`,
    hint: 'This is a bug in Atelier. Copy the details and report it.',
    details: err instanceof Error && err.stack ? err.stack : message,
  };
}

export type Envelope<T> = { ok: true; data: T } | { ok: false; error: ErrorData };
