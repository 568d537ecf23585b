/**
 * Keeps tests that cannot fail out of the suite (RULES: no test that cannot fail, no timing
 * assertions outside the bench, every skip says why). Parses every test file with TypeScript and
 * checks three things:
 *  1. every it()/test() body asserts: it calls expect/assert, or a helper (here or in tests/) that
 *     does, or throws;
 *  2. no expect() reads a clock (Date.now, performance.now, process.hrtime, or a variable
 *     assigned from one), except in the bench's own tests;
 *  3. every skipIf/runIf/skip/todo names its reason: the title mentions "skip", or is built from
 *     a value whose definition does.
 * A test that truly cannot follow a rule says so in a comment inside it:
 * `// hygiene: <rule> — <why>` (rule: no-assert | timing).
 * scripts/test.mjs checks rule 3 again at run time on the titles of the tests that did skip.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TESTS = path.join(ROOT, 'tests');

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'artifacts' ? [] : walk(p);
    return /\.(ts|tsx|mts)$/.test(e.name) ? [p] : [];
  });
}

const files = walk(TESTS);
const testFiles = files.filter((f) => /\.test\.tsx?$/.test(f));
const parse = (f: string) => ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true, f.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
const sources = new Map(files.map((f) => [f, parse(f)]));
const rel = (f: string) => path.relative(ROOT, f);

function visit(node: ts.Node, fn: (n: ts.Node) => void): void {
  fn(node);
  node.forEachChild((c) => visit(c, fn));
}

/** `a.b.c(...)` -> 'a.b.c'; `f(...)(...)` -> the inner callee's name + '()'. */
function calleeName(e: ts.Expression): string {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return `${calleeName(e.expression)}.${e.name.text}`;
  if (ts.isCallExpression(e)) return `${calleeName(e.expression)}()`;
  return '';
}

/** it / test with any modifiers: it, it.only, it.skipIf(c), test.each(t), it.concurrent ... */
function testCall(n: ts.Node): { kind: 'test' | 'suite'; name: string; call: ts.CallExpression } | null {
  if (!ts.isCallExpression(n)) return null;
  const name = calleeName(n.expression);
  const m = /^(it|test|describe)((\.\w+)*(\(\))?)*$/.exec(name);
  if (!m) return null;
  return { kind: m[1] === 'describe' ? 'suite' : 'test', name, call: n };
}

const ASSERT_CALL = /^(expect|assert)\w*(\.|$)|^(expect|assert)\w*\(\)|\.(expect|assert)\w*$/;

/** Names of functions (in any file under tests/) whose bodies assert or throw. */
function assertingHelpers(): Set<string> {
  const bodies = new Map<string, ts.Node[]>();
  for (const sf of sources.values()) {
    visit(sf, (n) => {
      let name = '';
      let body: ts.Node | undefined;
      if (ts.isFunctionDeclaration(n) && n.name && n.body) [name, body] = [n.name.text, n.body];
      else if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))) [name, body] = [n.name.text, n.initializer.body];
      else if (ts.isMethodDeclaration(n) && ts.isIdentifier(n.name) && n.body) [name, body] = [n.name.text, n.body];
      if (name && body) bodies.set(name, [...(bodies.get(name) ?? []), body]);
    });
  }
  const asserting = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, bs] of bodies) {
      if (!asserting.has(name) && bs.some((b) => asserts(b, asserting))) {
        asserting.add(name);
        changed = true;
      }
    }
  }
  return asserting;
}

function asserts(body: ts.Node, helpers: Set<string>): boolean {
  let found = false;
  visit(body, (n) => {
    if (found) return;
    if (ts.isThrowStatement(n)) found = true;
    else if (ts.isCallExpression(n)) {
      const name = calleeName(n.expression);
      const last = name.split('.').pop()!.replace(/\(\)$/, '');
      if (ASSERT_CALL.test(name) || helpers.has(name) || helpers.has(last)) found = true;
    }
  });
  return found;
}

/** Definitions of every variable and function name in tests/ (for titles built from helpers). */
const globalDefs = new Map<string, string>();
for (const sf of sources.values()) {
  visit(sf, (n) => {
    if ((ts.isVariableDeclaration(n) || ts.isFunctionDeclaration(n)) && n.name && ts.isIdentifier(n.name)) globalDefs.set(n.name.text, (globalDefs.get(n.name.text) ?? '') + n.getText(sf));
  });
}

const waiver = (node: ts.Node, sf: ts.SourceFile, rule: string) => new RegExp(`hygiene: ${rule}\\b`).test(node.getFullText(sf));
const where = (sf: ts.SourceFile, n: ts.Node) => `${rel(sf.fileName)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;

describe('test hygiene (the guard that keeps tests that cannot fail out)', () => {
  it('finds the test files', () => {
    expect(testFiles.length).toBeGreaterThan(50);
    expect(testFiles.map(rel)).toContain(path.join('tests', 'unit', 'hygiene.test.ts'));
  });

  it('every test asserts something (expect/assert, an asserting helper, or a throw)', () => {
    const helpers = assertingHelpers();
    const bad: string[] = [];
    for (const f of testFiles) {
      const sf = sources.get(f)!;
      visit(sf, (n) => {
        const t = testCall(n);
        if (!t || t.kind !== 'test' || /\.todo$/.test(t.name)) return;
        const fn = t.call.arguments.find((a) => ts.isArrowFunction(a) || ts.isFunctionExpression(a));
        if (!fn) return;
        if (!asserts(fn, helpers) && !waiver(fn, sf, 'no-assert')) bad.push(`${where(sf, n)} ${t.call.arguments[0]?.getText(sf).slice(0, 80)}`);
      });
    }
    expect(bad, 'tests without an assertion').toEqual([]);
  });

  it('no expect() reads a clock outside the bench (timings belong in npm run bench)', () => {
    const CLOCK = /\b(Date\.now|performance\.now|process\.hrtime)\b/;
    const bad: string[] = [];
    for (const f of testFiles) {
      if (f.split(path.sep).includes('bench')) continue;
      const sf = sources.get(f)!;
      // Variables assigned from a clock reading anywhere in the file.
      const timed = new Set<string>();
      visit(sf, (n) => {
        if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && CLOCK.test(n.initializer.getText(sf))) timed.add(n.name.text);
        if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left) && CLOCK.test(n.right.getText(sf))) timed.add(n.left.text);
      });
      visit(sf, (n) => {
        if (!ts.isCallExpression(n) || calleeName(n.expression) !== 'expect') return;
        // The whole chain: expect(x).not.toBeLessThan(y) -> check x and y.
        let top: ts.Node = n;
        while (ts.isPropertyAccessExpression(top.parent) || (ts.isCallExpression(top.parent) && top.parent.expression === top)) top = top.parent;
        let reads = false;
        visit(top, (m) => {
          if (ts.isIdentifier(m) && timed.has(m.text) && !(ts.isPropertyAccessExpression(m.parent) && m.parent.name === m)) reads = true;
          if (ts.isPropertyAccessExpression(m) && CLOCK.test(m.getText(sf))) reads = true;
        });
        if (reads && !waiver(top, sf, 'timing')) {
          let stmt: ts.Node = top;
          while (stmt.parent && !ts.isBlock(stmt.parent) && !ts.isSourceFile(stmt.parent)) stmt = stmt.parent;
          if (!waiver(stmt, sf, 'timing')) bad.push(`${where(sf, n)} ${top.getText(sf).slice(0, 100)}`);
        }
      });
    }
    expect(bad, 'timing assertions outside the bench').toEqual([]);
  });

  it('every skipIf / runIf / skip / todo says why in its title', () => {
    const bad: string[] = [];
    for (const f of testFiles) {
      const sf = sources.get(f)!;
      // What each name is defined as (here, else in a helper under tests/), to follow a title
      // built from a constant or a helper.
      const defs = new Map(globalDefs);
      visit(sf, (n) => {
        if ((ts.isVariableDeclaration(n) || ts.isFunctionDeclaration(n)) && n.name && ts.isIdentifier(n.name)) defs.set(n.name.text, n.getText(sf));
      });
      const explains = (e: ts.Node): boolean => {
        if (/skip/i.test(e.getText(sf))) return true;
        let ok = false;
        visit(e, (m) => {
          if (!ok && ts.isIdentifier(m) && /skip/i.test(defs.get(m.text) ?? '')) ok = true;
        });
        return ok;
      };
      visit(sf, (n) => {
        const t = testCall(n);
        if (!t || !/\.(skipIf|runIf)\(\)$|\.(skip|todo)$/.test(t.name)) return;
        const title = t.call.arguments[0];
        if (!title || !explains(title)) bad.push(`${where(sf, n)} ${t.name.replace(/\(\)$/, '')}(${title?.getText(sf).slice(0, 80) ?? ''})`);
      });
    }
    expect(bad, 'skips without a reason in the title').toEqual([]);
  });
});
