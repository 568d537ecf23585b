"""The scikit-learn / SciPy peer of the bench's analysis section (src/main/engine/analysis/bench.ts).

    python3 sklearn_analysis.py --data X.npy --init C.npy --pca-rows N --kmeans-rows N --linkage-rows N
        [--components 50] [--repeats 2]

Runs, on the same float32 rows as Atelier in the same bench invocation (BLAS threads set by the
caller's environment): PCA with scikit-learn's default solver for the shape (randomized here),
k-means from the given initial centroids (one initialisation, Lloyd, tol 0: until the labels
stop changing, as Atelier's default), and scipy.cluster.hierarchy.linkage (single, complete,
average; euclidean). Prints one JSON line: the median seconds of each and what they found.
"""
import argparse
import json
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--init", required=True)
    p.add_argument("--pca-rows", type=int, required=True)
    p.add_argument("--kmeans-rows", type=int, required=True)
    p.add_argument("--linkage-rows", type=int, required=True)
    p.add_argument("--components", type=int, default=50)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--only", default="pca,kmeans,linkage")
    a = p.parse_args()
    import scipy
    import sklearn
    from scipy.cluster.hierarchy import linkage
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    X = np.load(a.data).astype(np.float32, copy=False)
    only = set(a.only.split(","))
    res = {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info

        res["blas"] = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)" for i in threadpool_info()]
    except Exception:  # noqa: BLE001 - informative only
        res["blas"] = []
    if "pca" in only:
        Xp = X[: a.pca_rows]
        pca = PCA(n_components=a.components, random_state=0)
        med, times, m = timed(lambda: pca.fit(Xp), a.repeats)
        res["pca"] = {"seconds": med, "times": times, "solver": m._fit_svd_solver, "explained": m.explained_variance_.tolist()}
    if "kmeans" in only:
        Xk = X[: a.kmeans_rows]
        C0 = np.load(a.init).astype(np.float32)
        km = KMeans(n_clusters=C0.shape[0], init=C0, n_init=1, tol=0, max_iter=300, algorithm="lloyd")
        med, times, r = timed(lambda: km.fit(Xk), a.repeats)
        res["kmeans"] = {"seconds": med, "times": times, "iterations": int(r.n_iter_), "inertia": float(r.inertia_)}
    if "linkage" in only:
        Xh = X[: a.linkage_rows]
        res["linkage"] = {}
        for method in ["single", "complete", "average"]:
            med, times, Z = timed(lambda: linkage(Xh, method=method, metric="euclidean"), a.repeats)
            res["linkage"][method] = {"seconds": med, "times": times, "top": float(Z[-1, 2]), "heights": float(Z[:, 2].sum())}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
