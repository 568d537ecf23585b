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
  /usr/bin/python3 scripts/judge-colorize.py --photos PHOTO... [--crops 64] [--model ...]
The dataset is read from $ATELIER_WORKSPACE (or the default workspace) datasets/demo-nature-colorize.
--photos scores photos from outside the dataset (e.g. scikit-learn's china.jpg and flower.jpg,
another source than any training photo): crops by the dataset's scheme (side log-uniform between
128 px and the photo's short side, capped at 768, lanczos to 128 px; numpy RNG, seed 0 per photo),
grey by the dataset's conversion (sharp's b-w: sRGB -> linear BT.709 luminance -> sRGB; matches the
dataset's stored crops within one level).
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


def grey_of(rgb8):
    # libvips' sRGB -> B_W (what sharp's toColourspace('b-w') and so the dataset and translate use)
    b = rgb8.astype(np.float64) / 255
    lin = np.where(b <= 0.04045, b / 12.92, ((b + 0.055) / 1.055) ** 2.4)
    y = lin @ np.array([0.2126, 0.7152, 0.0722])
    g = np.where(y <= 0.0031308, y * 12.92, 1.055 * np.maximum(y, 0) ** (1 / 2.4) - 0.055)
    g8 = np.clip(np.round(g * 255), 0, 255).astype(np.uint8)
    return np.repeat(g8[..., None], 3, -1)


def photo_crops(paths, n, size=128):
    A, B, names = [], [], []
    for path in paths:
        im = Image.open(path).convert('RGB')
        w, h = im.size
        rng = np.random.default_rng(0)
        hi = min(768, w, h)
        lo = min(size, hi)
        for _ in range(n):
            side = int(round(np.exp(np.log(lo) + rng.random() * (np.log(hi) - np.log(lo)))))
            left, top = int(rng.integers(w - side + 1)), int(rng.integers(h - side + 1))
            c = np.asarray(im.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS))
            B.append(c)
            A.append(grey_of(c))
            names.append(os.path.basename(path))
    return np.stack(A), np.stack(B), names


def interval(d, seed=0, n=2000):
    rng = np.random.default_rng(seed)
    m = np.array([d[rng.integers(len(d), size=len(d))].mean() for _ in range(n)])
    return np.percentile(m, 2.5), np.percentile(m, 97.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--split', default='test', choices=['test', 'val'])
    ap.add_argument('--model', default=os.path.join(ROOT, 'models', 'nature-colorize-pix2pix'))
    ap.add_argument('--photos', nargs='+', help='score crops of these photos instead of a dataset split')
    ap.add_argument('--crops', type=int, default=64, help='crops per photo with --photos')
    args = ap.parse_args()
    if args.photos:
        A, B, names = photo_crops(args.photos, args.crops)
        label = 'photos ' + ', '.join(os.path.basename(p) for p in args.photos)
    else:
        ws = os.environ.get('ATELIER_WORKSPACE') or os.path.join(os.path.expanduser('~'), '.atelier', 'workspace')
        d = os.path.join(ws, 'datasets', 'demo-nature-colorize', args.split)
        if not os.path.isdir(d):
            sys.exit(f'{d} not found: build the demo datasets first (atelier dataset demo), or set ATELIER_WORKSPACE')
        A, B = idx(os.path.join(d, 'a-images-idx3-ubyte.gz')), idx(os.path.join(d, 'b-images-idx3-ubyte.gz'))
        names, label = None, args.split
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
    gp, gs = interval(r[:, 0] - r[:, 1]), interval(r[:, 2] - r[:, 3])
    print(f'{label}: {len(r)} crops | PSNR model {m[0]:.2f} grey {m[1]:.2f} | SSIM (uniform 7x7) model {m[2]:.4f} grey {m[3]:.4f} '
          f'| colourfulness model {m[4]:.1f} targets {m[5]:.1f} | crops won over grey: PSNR {np.mean(r[:, 0] > r[:, 1]):.2f}, SSIM {np.mean(r[:, 2] > r[:, 3]):.2f}'
          f' | gain over grey, 95% bootstrap over crops: PSNR {m[0] - m[1]:+.2f} ({gp[0]:+.2f} to {gp[1]:+.2f}) dB,'
          f' SSIM {m[2] - m[3]:+.4f} ({gs[0]:+.4f} to {gs[1]:+.4f})')
    if names:
        for n in sorted(set(names)):
            k = np.array([x == n for x in names])
            q = r[k].mean(0)
            print(f'  {n}: PSNR model {q[0]:.2f} grey {q[1]:.2f} | SSIM model {q[2]:.4f} grey {q[3]:.4f} | colourfulness model {q[4]:.1f} targets {q[5]:.1f}')


if __name__ == '__main__':
    main()
