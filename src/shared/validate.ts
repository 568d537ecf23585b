import type { ErrorData } from './errors';
import { channelDef, isChannelName, type ChannelName } from './contract';

export type Checked =
  | { ok: true; channel: ChannelName; value: unknown }
  | { ok: false; error: ErrorData };

const MAX_ISSUES = 5;

/**
 * The one gate every transport puts in front of the engine: the channel must exist and the
 * payload must match its schema. Messages name the field and the rule, so a person can act on
 * them; the zod issues go in details.
 */
export function checkRequest(channel: unknown, payload: unknown): Checked {
  if (!isChannelName(channel)) {
    const shown = typeof channel === 'string' ? channel.slice(0, 80) : typeof channel;
    return {
      ok: false,
      error: { code: 'UNKNOWN_CHANNEL', message: `Unknown channel "${shown}".`, hint: 'Update the app: the UI and the engine disagree on the contract.' },
    };
  }
  let parsed: ReturnType<ReturnType<typeof channelDef>['request']['safeParse']>;
  try {
    parsed = channelDef(channel).request.safeParse(payload === undefined ? {} : payload);
  } catch (e) {
    // Hostile shapes (e.g. an object whose prototype is a typed array) can make a schema throw
    // instead of failing; that is still just an invalid request.
    return { ok: false, error: { code: 'VALIDATION', message: `Invalid request for ${channel}: the payload is not plain data.`, details: String(e).slice(0, 500) } };
  }
  if (parsed.success) return { ok: true, channel, value: parsed.data };
  const issues = parsed.error.issues;
  const text = issues
    .slice(0, MAX_ISSUES)
    .map((i) => `${i.path.length ? i.path.join('.') : 'request'}: ${i.message}`)
    .join('; ');
  return {
    ok: false,
    error: {
      code: 'VALIDATION',
      message: `Invalid request for ${channel}: ${text}${issues.length > MAX_ISSUES ? ` (+${issues.length - MAX_ISSUES} more)` : ''}`,
      details: JSON.stringify(issues, null, 1).slice(0, 4000),
    },
  };
}
