// The layer arrows of DESIGN.md §1 as an allowlist per layer, after VS Code's code-layering rule
// (.eslint-plugin-local/code-layering.ts): each layer names the folders and packages it may
// import, and a wrong arrow fails lint naming that list. The first layer whose `files` matches a
// file is its layer, so the more specific folders come first.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `a/**` matches a and everything below; `a/*` one level below; otherwise the path itself (any extension). */
export function matches(pattern, p) {
  if (pattern.endsWith('/**')) {
    const base = pattern.slice(0, -3);
    return p === base || p.startsWith(base + '/');
  }
  if (pattern.endsWith('/*')) {
    const base = pattern.slice(0, -2);
    return p.startsWith(base + '/') && !p.slice(base.length + 1).includes('/');
  }
  if (pattern.endsWith('*')) return p.startsWith(pattern.slice(0, -1));
  return p === pattern || p.replace(/\.(ts|tsx|js|mjs)$/, '') === pattern || p === pattern + '/index';
}

const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

/** @type {import('eslint').Rule.RuleModule} */
export const codeLayering = {
  meta: {
    type: 'problem',
    docs: { description: 'Each layer imports only what its allowlist names (DESIGN.md §1).' },
    schema: [{ type: 'array' }],
    messages: {
      folder: "Layer '{{layer}}' may not import '{{target}}'. It may import: {{allowed}}.",
      pkg: "Layer '{{layer}}' may not import package '{{target}}'. {{why}}",
    },
  },
  create(context) {
    const layers = context.options[0] ?? [];
    const file = path.relative(repoRoot, context.filename).split(path.sep).join('/');
    const layer = layers.find((l) => matches(l.files, file));
    if (!layer) return {};
    const check = (node, spec) => {
      if (typeof spec !== 'string') return;
      if (spec.startsWith('.')) {
        const target = path.relative(repoRoot, path.resolve(path.dirname(context.filename), spec)).split(path.sep).join('/');
        if (!layer.allow.some((a) => matches(a, target))) {
          context.report({ node, messageId: 'folder', data: { layer: layer.name, target, allowed: layer.allow.join(', ') } });
        }
        return;
      }
      const name = spec.startsWith('node:') ? spec : packageName(spec);
      const pk = layer.packages ?? {};
      if (pk.allow && !pk.allow.some((a) => matches(a, name))) {
        context.report({ node, messageId: 'pkg', data: { layer: layer.name, target: name, why: `It may import the packages: ${pk.allow.join(', ')}.` } });
      } else if (pk.deny && pk.deny.some((d) => matches(d, name))) {
        context.report({ node, messageId: 'pkg', data: { layer: layer.name, target: name, why: pk.why ?? '' } });
      }
    };
    const fromSource = (node) => node.source && check(node.source, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export default { rules: { 'code-layering': codeLayering } };
