#!/usr/bin/python3
"""An independent judge of the colouriser's card (models/nature-colorize-pix2pix/README.md).

`atelier eval` scores the tfjs bundle with the project's own metric code. This script checks
the same claims from outside it: it reads the held-out crops straight from the dataset's IDX
files, has `atelier translate` write the translations through onnxruntime (the ONNX export,
not the tfjs path), and scores them in numpy/scipy: PSNR, SSIM in scikit-image's *default*
form (7x7 uniform window, sample covariance, K1 0.01, K2 0.03, per channel; the project uses
the Gaussian-weighted form, so absolute SSIM differs by ~0.01 and only the ordering against the
grey input is comparable) and Hasler-Susstrunk colourfulness.

Usage (after `atelier dataset demo`; needs python3-numpy, python3-scipy, python3-pil):
  /usr/bin/python3 scripts/judge-colorize.py [--split test|val] [--model models/nature-colorize-pix2pix]
The dataset is read from $ATELIER_WORKSPACE (or the default workspace) datasets/demo-nature-colorize.
"""
import argparse, gzip, os, struct, subprocess, sys, tempfile
import numpy as np
from PIL import Image
from scipy.ndimage import uniform_filter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = struct.unpack('>' + 'I' * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b[4 + 4 * nd:], np.uint8).reshape(dims)


def ssim_channel(x, y, w=7):
    n = w * w
    cov = n / (n - 1)
    ux, uy = uniform_filter(x, w), uniform_filter(y, w)
    vx = cov * (uniform_filter(x * x, w) - ux * ux)
    vy = cov * (uniform_filter(y * y, w) - uy * uy)
    vxy = cov * (uniform_filter(x * y, w) - ux * uy)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    p = (w - 1) // 2
    return s[p:-p, p:-p].mean()


def ssim(x, y):
    return np.mean([ssim_channel(x[..., c], y[..., c]) for c in range(3)])


def psnr(x, y):
    return min(100.0, 10 * np.log10(1 / np.mean((x - y) ** 2)))


def colourfulness(x):
    x = x * 255
    rg = x[..., 0] - x[..., 1]
    yb = (x[..., 0] + x[..., 1]) / 2 - x[..., 2]
    return np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())


def rgb(a):
    a = a.astype(np.float64) / 255
    if a.ndim == 2:
        a = a[..., None]
    return np.repeat(a, 3, -1) if a.shape[-1] == 1 else a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--split', default='test', choices=['test', 'val'])
    ap.add_argument('--model', default=os.path.join(ROOT, 'models', 'nature-colorize-pix2pix'))
    args = ap.parse_args()
    ws = os.environ.get('ATELIER_WORKSPACE') or os.path.join(os.path.expanduser('~'), '.atelier', 'workspace')
    d = os.path.join(ws, 'datasets', 'demo-nature-colorize', args.split)
    if not os.path.isdir(d):
        sys.exit(f'{d} not found: build the demo datasets first (atelier dataset demo), or set ATELIER_WORKSPACE')
    A, B = idx(os.path.join(d, 'a-images-idx3-ubyte.gz')), idx(os.path.join(d, 'b-images-idx3-ubyte.gz'))
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, 'in'), os.path.join(tmp, 'out')
        os.makedirs(src)
        for i, a in enumerate(A):
            Image.fromarray(a).save(os.path.join(src, f'{i:04d}.png'))
        run = subprocess.run(['node', os.path.join(ROOT, 'bin', 'atelier.js'), 'translate', '--model', args.model, '--no-gallery', src, out],
                             capture_output=True, text=True, env={**os.environ, 'ATELIER_WORKSPACE': os.path.join(tmp, 'ws')})
        if run.returncode != 0:
            sys.exit(f'atelier translate failed:\n{run.stderr[-2000:]}')
        rows = []
        for i in range(len(B)):
            t, g = rgb(B[i]), rgb(A[i])
            o = np.asarray(Image.open(os.path.join(out, f'{i:04d}.png')).convert('RGB')).astype(np.float64) / 255
            rows.append((psnr(o, t), psnr(g, t), ssim(o, t), ssim(g, t), colourfulness(o), colourfulness(t)))
    r = np.array(rows)
    m = r.mean(0)
    print(f'{args.split}: {len(r)} crops | PSNR model {m[0]:.2f} grey {m[1]:.2f} | SSIM (uniform 7x7) model {m[2]:.4f} grey {m[3]:.4f} '
          f'| colourfulness model {m[4]:.1f} targets {m[5]:.1f} | crops won over grey: PSNR {np.mean(r[:, 0] > r[:, 1]):.2f}, SSIM {np.mean(r[:, 2] > r[:, 3]):.2f}')


if __name__ == '__main__':
    main()
