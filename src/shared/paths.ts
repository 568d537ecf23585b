/**
 * Which request fields are file-system paths, and what the engine does with them. The contract
 * marks them with one of three schemas (define.ts: `filePath` read, `writePath` write, and
 * bundle.ts's `modelRef`, an id or a path); this finds them in any channel's schema and in any
 * payload, so a transport that must confine paths (`atelier serve`) needs no per-channel glue.
 */
import { z } from 'zod';

export type PathAccess = 'read' | 'write';

export interface PathMeta {
  access: PathAccess;
  /** A model reference: a bare id (`[A-Za-z0-9_-]+`) names a bundle; anything else is a path. */
  model?: boolean;
}

export const pathRegistry = z.registry<PathMeta>();

export interface PathField extends PathMeta {
  /** Where in the request, e.g. `source.path`, `pairs[3].a`. */
  where: string;
  value: string;
}

type AnySchema = z.core.$ZodType;
type Def = { type: string; [k: string]: unknown };

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Wrappers whose payload is their inner type's. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch', 'success']);

function walk(schema: AnySchema, value: unknown, where: string, out: PathField[], depth: number): void {
  if (depth > 32) return;
  const meta = pathRegistry.get(schema);
  if (meta) {
    if (typeof value === 'string') out.push({ ...meta, where, value });
    return;
  }
  const def = defOf(schema);
  if (WRAPPERS.has(def.type)) return walk(def.innerType as AnySchema, value, where, out, depth + 1);
  switch (def.type) {
    case 'pipe':
      return walk(def.in as AnySchema, value, where, out, depth + 1);
    case 'lazy':
      return walk((def.getter as () => AnySchema)(), value, where, out, depth + 1);
    case 'object': {
      if (!value || typeof value !== 'object') return;
      const shape = def.shape as Record<string, AnySchema>;
      for (const k of Object.keys(shape)) {
        if (Object.prototype.hasOwnProperty.call(value, k)) walk(shape[k]!, (value as Record<string, unknown>)[k], where ? `${where}.${k}` : k, out, depth + 1);
      }
      return;
    }
    case 'array':
      if (Array.isArray(value)) value.forEach((v, i) => walk(def.element as AnySchema, v, `${where}[${i}]`, out, depth + 1));
      return;
    case 'union':
      // The branch the value belongs to (discriminated or not): the first that accepts it.
      for (const o of def.options as AnySchema[]) {
        if (z.safeParse(o, value).success) return walk(o, value, where, out, depth + 1);
      }
      return;
    case 'intersection':
      walk(def.left as AnySchema, value, where, out, depth + 1);
      walk(def.right as AnySchema, value, where, out, depth + 1);
      return;
    default:
      return;
  }
}

/** Every path in a (valid) request of a channel whose schema is `schema`. */
export function pathsInRequest(schema: AnySchema, payload: unknown): PathField[] {
  const out: PathField[] = [];
  walk(schema, payload, '', out, 0);
  return out;
}

/** The path fields a schema declares, without a payload (`pairs[].a`), for tests and docs. */
export function pathFieldsOf(schema: AnySchema, where = '', depth = 0): (PathMeta & { where: string })[] {
  if (depth > 32) return [];
  const meta = pathRegistry.get(schema);
  if (meta) return [{ ...meta, where }];
  const def = defOf(schema);
  if (WRAPPERS.has(def.type)) return pathFieldsOf(def.innerType as AnySchema, where, depth + 1);
  switch (def.type) {
    case 'pipe':
      return pathFieldsOf(def.in as AnySchema, where, depth + 1);
    case 'lazy':
      return pathFieldsOf((def.getter as () => AnySchema)(), where, depth + 1);
    case 'object':
      return Object.entries(def.shape as Record<string, AnySchema>).flatMap(([k, s]) => pathFieldsOf(s, where ? `${where}.${k}` : k, depth + 1));
    case 'array':
      return pathFieldsOf(def.element as AnySchema, `${where}[]`, depth + 1);
    case 'union': {
      const seen = new Set<string>();
      return (def.options as AnySchema[]).flatMap((o) => pathFieldsOf(o, where, depth + 1)).filter((f) => !seen.has(f.where + f.access) && seen.add(f.where + f.access));
    }
    case 'intersection':
      return [...pathFieldsOf(def.left as AnySchema, where, depth + 1), ...pathFieldsOf(def.right as AnySchema, where, depth + 1)];
    default:
      return [];
  }
}
