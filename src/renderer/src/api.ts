/**
 * Loose access to channels that may or may not be in this build's contract. Pages are built
 * while other domains land, so they ask `has('dataset.list')` first and show an honest empty
 * state when a channel is missing; `callAny` goes through the same `call` (envelope unwrapping,
 * StudioError on failure).
 */
import type { ChannelName } from '../../shared/contract';
import { call, studio } from './studio';

export function has(channel: string): boolean {
  const dot = channel.indexOf('.');
  if (dot < 0) return false;
  try {
    const s = studio() as unknown as Record<string, Record<string, unknown> | undefined>;
    return typeof s[channel.slice(0, dot)]?.[channel.slice(dot + 1)] === 'function';
  } catch {
    return false;
  }
}

export function callAny<T = unknown>(channel: string, req: unknown = {}): Promise<T> {
  return call(channel as ChannelName, req as never) as Promise<T>;
}
