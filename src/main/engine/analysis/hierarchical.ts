/**
 * Agglomerative (hierarchical) clustering with the output of scipy.cluster.hierarchy.linkage.
 *
 * The result Z has n-1 rows [a, b, height, size]: row k merges clusters a and b (a < b) at
 * distance `height` into a new cluster with id n + k holding `size` points; ids 0..n-1 are the
 * points. Rows are sorted by height (stable), exactly as scipy does after its algorithms:
 *  - single: minimum spanning tree by Prim (scipy's `mst_single_linkage`), distances computed on
 *    the fly from the data, so memory stays O(n) (or read from a condensed matrix);
 *  - complete, average, weighted, ward: nearest-neighbour chain (scipy's `nn_chain`) with
 *    Lance-Williams updates in place on the condensed distance matrix.
 * Both are O(n^2) time; ties are broken as scipy breaks them (lowest index first, previous
 * chain element preferred), then clusters are relabelled with a union-find (scipy's `label`).
 */
import { StudioError } from '../../../shared/errors';
import { type Condensed, type Metric, FLOAT64_MAX_N, checkMetric, pdistSteps, rowNorms, rowToRows } from './distances';
import { type Step, drive, mapSteps } from './steps';
import { type Matrix, assertUsable } from './matrix';

export type LinkageMethod = 'single' | 'complete' | 'average' | 'weighted' | 'ward';
export const LINKAGE_METHODS: readonly LinkageMethod[] = ['single', 'complete', 'average', 'weighted', 'ward'];

export interface LinkageTree {
  /** Number of points (leaves). */
  n: number;
  /** (n-1) x 4 row-major: [a, b, height, size] per merge, as scipy's linkage matrix. */
  Z: Float64Array;
  method: LinkageMethod;
  metric: Metric;
}

export interface LinkageOptions {
  method?: LinkageMethod;
  metric?: Metric;
  /** Progress in [0, 1] (distance matrix, then merging). */
  onProgress?: (fraction: number, message: string) => void;
  /**
   * Single linkage only: compute distances on the fly (O(n) memory, about 1.5x slower). Always
   * used above FLOAT64_MAX_N points.
   */
  lowMemory?: boolean;
}

function checkMethod(method: string): LinkageMethod {
  if (!(LINKAGE_METHODS as readonly string[]).includes(method)) {
    throw new StudioError('BAD_INPUT', `Unknown linkage "${method}"; use one of ${LINKAGE_METHODS.join(', ')}.`);
  }
  return method as LinkageMethod;
}

/** Cluster the rows of `m`. */
export function linkage(m: Matrix, opts: LinkageOptions = {}): LinkageTree {
  return drive(linkageSteps(m, opts), (s) => opts.onProgress?.(s.fraction, s.message));
}

/** linkage as a generator yielding progress between blocks of work (see steps.ts). */
export function* linkageSteps(m: Matrix, opts: Omit<LinkageOptions, 'onProgress'> = {}): Generator<Step, LinkageTree, void> {
  const method = checkMethod(opts.method ?? 'average');
  const metric = checkMetric(opts.metric ?? 'euclidean');
  if (method === 'ward' && metric !== 'euclidean') {
    throw new StudioError('BAD_INPUT', `Ward linkage is defined for euclidean distances only (got ${metric}).`, {
      hint: 'Use euclidean with ward, or pick single, complete or average linkage.',
    });
  }
  assertUsable(m, 'input', 2);
  const n = m.rows;
  let Z: Float64Array;
  if (method === 'single' && (n > FLOAT64_MAX_N || opts.lowMemory)) {
    // large n: O(n) memory, distances computed as Prim needs them (one row at a time, slower)
    Z = yield* primOnTheFly(m, metric);
  } else {
    const D = yield* mapSteps(pdistSteps(m, metric), (done) => ({ fraction: (0.8 * done) / n, message: 'distances' }));
    if (method === 'single') Z = primCondensed(D.data, n);
    else Z = yield* nnChain(D.data, n, method, 0.8);
  }
  yield { fraction: 1, message: 'merged' };
  return { n, Z, method, metric };
}

/** Cluster from a precomputed condensed distance matrix (modified in place for non-single methods; pass a copy to keep it). */
export function linkageFromCondensed(D: Condensed, method: LinkageMethod = 'average', metric: Metric = 'euclidean'): LinkageTree {
  checkMethod(method);
  const n = D.n;
  if (n < 2) throw new StudioError('BAD_INPUT', `Hierarchical clustering needs at least 2 points (got ${n}).`);
  if (D.data.length !== (n * (n - 1)) / 2) {
    throw new StudioError('BAD_INPUT', `A condensed matrix for ${n} points has ${(n * (n - 1)) / 2} values, not ${D.data.length}.`);
  }
  for (let i = 0; i < D.data.length; i++) {
    const v = D.data[i];
    if (!(v >= 0) || v === Infinity) throw new StudioError('BAD_INPUT', `Distance ${i} of the condensed matrix is ${v}; distances must be finite and >= 0.`);
  }
  const Z = method === 'single' ? primCondensed(D.data, n) : drive(nnChain(D.data, n, method, 0));
  return { n, Z, method, metric };
}

// ---------------------------------------------------------------- single linkage (Prim)

function* primOnTheFly(m: Matrix, metric: Metric): Generator<Step, Float64Array, void> {
  const n = m.rows;
  const Z = new Float64Array((n - 1) * 4);
  const D = new Float64Array(n).fill(Infinity);
  const norms = metric === 'cosine' ? rowNorms(m) : undefined;
  // Unmerged points in increasing index order (scipy scans i = 0..n-1 and keeps the first minimum).
  const active = new Int32Array(n - 1);
  let count = n - 1;
  for (let i = 1; i < n; i++) active[i - 1] = i;
  const dist = new Float64Array(n);
  let x = 0;
  const every = Math.max(1, Math.floor(n / 100));
  for (let k = 0; k < n - 1; k++) {
    rowToRows(m, metric, x, active, 0, count, dist, 0, norms);
    let best = Infinity;
    let y = -1;
    for (let t = 0; t < count; t++) {
      const i = active[t];
      if (D[i] > dist[t]) D[i] = dist[t];
      if (D[i] < best) {
        best = D[i];
        y = i;
      }
    }
    if (y < 0) y = active[0]; // all remaining at infinite distance: cannot happen with finite data
    Z[k * 4] = x;
    Z[k * 4 + 1] = y;
    Z[k * 4 + 2] = D[y];
    x = y;
    // drop y from the active list, keeping the order
    let w = 0;
    for (let t = 0; t < count; t++) if (active[t] !== y) active[w++] = active[t];
    count = w;
    if (k % every === every - 1) yield { fraction: k / (n - 1), message: 'merging' };
  }
  return sortAndLabel(Z, n);
}

function primCondensed(dists: ArrayLike<number>, n: number): Float64Array {
  const Z = new Float64Array((n - 1) * 4);
  const merged = new Uint8Array(n);
  const D = new Float64Array(n).fill(Infinity);
  const rowStart = new Float64Array(n);
  for (let i = 0; i < n; i++) rowStart[i] = n * i - (i * (i + 1)) / 2 - i - 1;
  let x = 0;
  for (let k = 0; k < n - 1; k++) {
    let best = Infinity;
    let y = -1;
    merged[x] = 1;
    for (let i = 0; i < n; i++) {
      if (merged[i]) continue;
      // d(x, i) sits in row min(x, i) of the condensed matrix
      const dist = i < x ? dists[rowStart[i] + x] : dists[rowStart[x] + i];
      if (D[i] > dist) D[i] = dist;
      if (D[i] < best) {
        best = D[i];
        y = i;
      }
    }
    if (y < 0) for (let i = 0; i < n; i++) if (!merged[i]) { y = i; break; }
    Z[k * 4] = x;
    Z[k * 4 + 1] = y;
    Z[k * 4 + 2] = D[y];
    x = y;
  }
  return sortAndLabel(Z, n);
}

// ---------------------------------------------------------------- nearest-neighbour chain

function* nnChain(D: Float32Array | Float64Array, n: number, method: LinkageMethod, base: number): Generator<Step, Float64Array, void> {
  const every = Math.max(1, Math.floor(n / 50));
  const Z = new Float64Array((n - 1) * 4);
  const size = new Int32Array(n).fill(1);
  const chain = new Int32Array(n);
  let chainLength = 0;
  // rowStart[i] = condensed index of (i, i+1); d(i, j) for i < j is at rowStart[i] + j - i - 1.
  const rowStart = new Float64Array(n);
  for (let i = 0; i < n; i++) rowStart[i] = n * i - (i * (i + 1)) / 2;
  const at = (i: number, j: number): number => (i < j ? rowStart[i] + j - i - 1 : rowStart[j] + i - j - 1);

  for (let k = 0; k < n - 1; k++) {
    if (chainLength === 0) {
      chainLength = 1;
      for (let i = 0; i < n; i++) {
        if (size[i] > 0) {
          chain[0] = i;
          break;
        }
      }
    }
    let x = 0;
    let y = 0;
    let currentMin = Infinity;
    for (;;) {
      x = chain[chainLength - 1];
      if (chainLength > 1) {
        y = chain[chainLength - 2];
        currentMin = D[at(x, y)];
      } else {
        currentMin = Infinity;
      }
      // i < x: column x of the rows above; i > x: the contiguous row of x
      for (let i = 0; i < x; i++) {
        if (size[i] === 0) continue;
        const dist = D[rowStart[i] + x - i - 1];
        if (dist < currentMin) {
          currentMin = dist;
          y = i;
        }
      }
      const base = rowStart[x] - x - 1;
      for (let i = x + 1; i < n; i++) {
        if (size[i] === 0) continue;
        const dist = D[base + i];
        if (dist < currentMin) {
          currentMin = dist;
          y = i;
        }
      }
      if (chainLength > 1 && y === chain[chainLength - 2]) break;
      chain[chainLength++] = y;
    }
    chainLength -= 2;
    if (x > y) {
      const t = x;
      x = y;
      y = t;
    }
    const nx = size[x];
    const ny = size[y];
    Z[k * 4] = x;
    Z[k * 4 + 1] = y;
    Z[k * 4 + 2] = currentMin;
    Z[k * 4 + 3] = nx + ny;
    size[x] = 0;
    size[y] = nx + ny;
    if (k % every === every - 1) yield { fraction: base + ((1 - base) * k) / (n - 1), message: 'merging' };
    const dxy = currentMin;
    for (let i = 0; i < n; i++) {
      const ni = size[i];
      if (ni === 0 || i === y) continue;
      const ix = at(i, x);
      const iy = at(i, y);
      const dxi = D[ix];
      const dyi = D[iy];
      let v: number;
      switch (method) {
        case 'complete':
          v = dxi > dyi ? dxi : dyi;
          break;
        case 'average':
          v = (nx * dxi + ny * dyi) / (nx + ny);
          break;
        case 'weighted':
          v = 0.5 * (dxi + dyi);
          break;
        case 'ward': {
          const t = 1 / (nx + ny + ni);
          v = Math.sqrt((ni + nx) * t * dxi * dxi + (ni + ny) * t * dyi * dyi - ni * t * dxy * dxy);
          break;
        }
        default:
          v = dxi < dyi ? dxi : dyi;
      }
      D[iy] = v;
    }
  }
  return sortAndLabel(Z, n);
}

/** Stable sort of the merges by height, then relabel with a union-find (scipy's `label`). */
function sortAndLabel(Zin: Float64Array, n: number): Float64Array {
  const m = n - 1;
  const order = Array.from({ length: m }, (_, i) => i);
  order.sort((a, b) => Zin[a * 4 + 2] - Zin[b * 4 + 2] || a - b);
  const Z = new Float64Array(m * 4);
  for (let r = 0; r < m; r++) {
    const s = order[r];
    Z[r * 4] = Zin[s * 4];
    Z[r * 4 + 1] = Zin[s * 4 + 1];
    Z[r * 4 + 2] = Zin[s * 4 + 2];
  }
  const parent = new Int32Array(2 * n - 1);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const size = new Int32Array(2 * n - 1);
  size.fill(1, 0, n);
  const find = (x: number): number => {
    let p = x;
    while (parent[p] !== p) p = parent[p];
    while (parent[x] !== p) {
      const nx = parent[x];
      parent[x] = p;
      x = nx;
    }
    return p;
  };
  let next = n;
  for (let r = 0; r < m; r++) {
    const xr = find(Z[r * 4]);
    const yr = find(Z[r * 4 + 1]);
    if (xr < yr) {
      Z[r * 4] = xr;
      Z[r * 4 + 1] = yr;
    } else {
      Z[r * 4] = yr;
      Z[r * 4 + 1] = xr;
    }
    parent[xr] = next;
    parent[yr] = next;
    size[next] = size[xr] + size[yr];
    Z[r * 4 + 3] = size[next];
    next++;
  }
  return Z;
}

// ---------------------------------------------------------------- reading the tree

/** The linkage matrix as rows [a, b, height, size] (ids as numbers, like scipy's float array). */
export function linkageRows(t: LinkageTree): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < t.n - 1; r++) out.push([t.Z[r * 4], t.Z[r * 4 + 1], t.Z[r * 4 + 2], t.Z[r * 4 + 3]]);
  return out;
}

/** Leaf order of the dendrogram (scipy's leaves_list): pre-order, left child (a) before right (b). */
export function leafOrder(t: LinkageTree): Int32Array {
  const { n, Z } = t;
  const out = new Int32Array(n);
  if (n === 1) return out;
  let p = 0;
  const stack: number[] = [2 * n - 2];
  while (stack.length) {
    const node = stack.pop()!;
    if (node < n) {
      out[p++] = node;
      continue;
    }
    const r = node - n;
    stack.push(Z[r * 4 + 1]);
    stack.push(Z[r * 4]);
  }
  return out;
}

export interface DendrogramCoords {
  /** Leaves from left to right (leafOrder). */
  leaves: Int32Array;
  /** Per merge row r: x of the new node (leaf i sits at x = its position in `leaves`). */
  nodeX: Float64Array;
  /**
   * Per merge row r, the "П" link as 4 points (like scipy's icoord/dcoord, but in merge order and
   * leaf units): x = [xa, xa, xb, xb], y = [ha, h, h, hb] with ha/hb the children's heights (0 for leaves).
   */
  x: Float64Array; // (n-1) x 4
  y: Float64Array; // (n-1) x 4
  maxHeight: number;
}

export function dendrogramCoords(t: LinkageTree): DendrogramCoords {
  const { n, Z } = t;
  const leaves = leafOrder(t);
  const pos = new Float64Array(2 * n - 1);
  const h = new Float64Array(2 * n - 1);
  for (let p = 0; p < n; p++) pos[leaves[p]] = p;
  const m = n - 1;
  const nodeX = new Float64Array(m);
  const x = new Float64Array(m * 4);
  const y = new Float64Array(m * 4);
  let maxHeight = 0;
  // Children always have smaller ids than their parent, so merge order is a valid bottom-up order.
  for (let r = 0; r < m; r++) {
    const a = Z[r * 4];
    const b = Z[r * 4 + 1];
    const hr = Z[r * 4 + 2];
    const xa = pos[a];
    const xb = pos[b];
    pos[n + r] = (xa + xb) / 2;
    h[n + r] = hr;
    nodeX[r] = pos[n + r];
    x.set([xa, xa, xb, xb], r * 4);
    y.set([h[a], hr, hr, h[b]], r * 4);
    if (hr > maxHeight) maxHeight = hr;
  }
  return { leaves, nodeX, x, y, maxHeight };
}

/** For each merge, the largest height in its subtree (scipy's maxdists; equals the height for monotone linkages). */
export function maxDists(t: LinkageTree): Float64Array {
  const { n, Z } = t;
  const md = new Float64Array(n - 1);
  for (let r = 0; r < n - 1; r++) {
    let v = Z[r * 4 + 2];
    const a = Z[r * 4];
    const b = Z[r * 4 + 1];
    if (a >= n && md[a - n] > v) v = md[a - n];
    if (b >= n && md[b - n] > v) v = md[b - n];
    md[r] = v;
  }
  return md;
}

/** scipy's cluster_monocrit: label flat clusters (0-based here) whose max height is <= cutoff. */
function clusterMonocrit(t: LinkageTree, mc: Float64Array, cutoff: number, labels: Int32Array | null): number {
  const { n, Z } = t;
  const visited = new Uint8Array(2 * n - 1);
  const curr = new Int32Array(n);
  let k = 0;
  curr[0] = 2 * n - 2;
  let nCluster = 0;
  let leader = -1;
  while (k >= 0) {
    const root = curr[k] - n;
    const lc = Z[root * 4];
    const rc = Z[root * 4 + 1];
    if (leader === -1 && mc[root] <= cutoff) {
      leader = root;
      nCluster++;
    }
    if (lc >= n && !visited[lc]) {
      visited[lc] = 1;
      curr[++k] = lc;
      continue;
    }
    if (rc >= n && !visited[rc]) {
      visited[rc] = 1;
      curr[++k] = rc;
      continue;
    }
    if (lc < n) {
      if (leader === -1) nCluster++;
      if (labels) labels[lc] = nCluster - 1;
    }
    if (rc < n) {
      if (leader === -1) nCluster++;
      if (labels) labels[rc] = nCluster - 1;
    }
    if (leader === root) leader = -1;
    k--;
  }
  return nCluster;
}

/**
 * Flat clusters: cut the tree at height `h` (scipy fcluster(Z, h, 'distance')): points whose
 * cophenetic distance is <= h share a cluster. Labels are 0-based (scipy's minus one).
 */
export function cutAtHeight(t: LinkageTree, h: number): Int32Array {
  const labels = new Int32Array(t.n);
  if (t.n === 1) return labels;
  clusterMonocrit(t, maxDists(t), h, labels);
  return labels;
}

/**
 * At most k flat clusters (scipy fcluster(Z, k, 'maxclust')): the lowest cut among the merge
 * heights giving <= k clusters. With tied heights this can give fewer than k clusters, as in scipy.
 */
export function cutToK(t: LinkageTree, k: number): Int32Array {
  const { n } = t;
  if (!Number.isInteger(k) || k < 1) throw new StudioError('BAD_INPUT', `The number of clusters must be a whole number >= 1 (got ${k}).`);
  const labels = new Int32Array(n);
  if (n === 1) return labels;
  if (k >= n) {
    // every point on its own: a cut below the lowest merge
    clusterMonocrit(t, maxDists(t), -Infinity, labels);
    return labels;
  }
  const md = maxDists(t);
  // scipy: binary search over the (sorted) max dists for the lowest threshold with <= k clusters
  let lower = 0;
  let upper = n - 2;
  if (clusterMonocrit(t, md, md[0], null) <= k) upper = 0;
  while (upper - lower > 1) {
    const i = (lower + upper) >> 1;
    const nc = clusterMonocrit(t, md, md[i], null);
    if (nc > k) lower = i;
    else upper = i;
  }
  clusterMonocrit(t, md, md[upper], labels);
  return labels;
}
