/** Tiny argv parser: --flag, --key value, --key=value, repeated keys collect, positionals. */
export interface Args {
  _: string[];
  flags: Record<string, string | true>;
  multi: Record<string, string[]>;
}

export function parseArgs(argv: string[], booleans: string[] = []): Args {
  const out: Args = { _: [], flags: {}, multi: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out._.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      let val: string | true;
      if (eq >= 0) val = a.slice(eq + 1);
      else if (booleans.includes(key) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) val = true;
      else val = argv[++i]!;
      out.flags[key] = val;
      if (typeof val === 'string') (out.multi[key] ??= []).push(val);
    } else out._.push(a);
  }
  return out;
}

export function intFlag(args: Args, name: string, def?: number): number | undefined {
  const v = args.flags[name];
  if (v === undefined || v === true) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got "${v}"`);
  return n;
}
