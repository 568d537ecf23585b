import { z } from 'zod';
import type { ErrorCode } from './errors';
import { pathRegistry } from './paths';

/**
 * One channel of the contract: the zod schema of its request, the TypeScript type of its
 * response (a phantom field, never read at run time), the error codes it may answer with, and
 * whether it starts a job (then it answers `{ jobId }` at once and reports through job events).
 */
export interface ChannelDef<Req extends z.ZodType = z.ZodType, Res = unknown> {
  readonly request: Req;
  readonly response: Res;
  readonly errors: readonly ErrorCode[];
  readonly description: string;
  /** Main-process only (dialogs, reveal in folder); serve answers UNAVAILABLE or its own way. */
  readonly local?: boolean;
  /**
   * Byte fields the browser transport may send as an uploaded file instead of inline, mapped to
   * the field that then takes the uploaded file's path (`{ image: 'path' }`; the same name when
   * the field accepts bytes or a path). Large images go this way instead of over-size frames.
   */
  readonly uploads?: Readonly<Record<string, string>>;
}

const pathString = () =>
  z
    .string()
    .min(1)
    .max(4096)
    .refine((s) => !s.includes('\0'), 'a path may not contain a NUL character');

/** A file or folder path the engine reads (the one bound every channel uses). */
export const filePath = pathString().register(pathRegistry, { access: 'read' });

/** A file or folder path the engine writes into. */
export const writePath = pathString().register(pathRegistry, { access: 'write' });

/** A seed for a random choice in a request (a 31-bit integer, 0 by default). */
export const seed = z.number().int().min(0).max(2 ** 31 - 1).default(0);

export function channel<Res>() {
  return <Req extends z.ZodType>(
    request: Req,
    description: string,
    errors: readonly ErrorCode[] = [],
    opts: { local?: boolean; uploads?: Record<string, string> } = {},
  ): ChannelDef<Req, Res> => ({
    request,
    response: undefined as unknown as Res,
    errors,
    description,
    ...(opts.local ? { local: true } : {}),
    ...(opts.uploads ? { uploads: opts.uploads } : {}),
  });
}
