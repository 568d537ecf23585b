#!/usr/bin/env python3
"""PyTorch peer for `atelier bench`: the same pix2pix networks (U-Net generator + 70x70 PatchGAN,
BatchNorm, as in pytorch-CycleGAN-and-pix2pix), the same losses (vanilla GAN + 100 * L1) and the
same optimiser (Adam 2e-4, beta1 0.5), timed per training step on the CPU.

With --infer: the U-Net generator's forward pass alone, batch 1, as the app runs inference
(onnxruntime / tfjs with training=false): model.eval() (dropout off, batch norm on its moving
statistics) under torch.inference_mode().

Prints one JSON object: torch version, threads, which BLAS library the process loaded, and per
size the median seconds per step (or per image with --infer) and the trainable parameter counts
(to check against ours).
Run by the bench with LD_LIBRARY_PATH pointing at OpenBLAS first; never imported by the app.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn

from peer_nets import blas_library, params, patchgan


def unet(size, in_c=3, out_c=3, ngf=64, depth=None):
    depth = depth or int(math.log2(size))

    def width(i):
        return ngf * min(2 ** i, 8)

    class Unet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.ModuleList()
            self.up = nn.ModuleList()
            self.down.append(nn.Conv2d(in_c, width(0), 4, 2, 1, bias=True))
            for i in range(1, depth):
                innermost = i == depth - 1
                layers = [nn.LeakyReLU(0.2), nn.Conv2d(width(i - 1), width(i), 4, 2, 1, bias=innermost)]
                if not innermost:
                    layers.append(nn.BatchNorm2d(width(i)))
                self.down.append(nn.Sequential(*layers))
            for j in range(depth - 2, -1, -1):
                in_ch = width(j + 1) if j == depth - 2 else width(j + 1) * 2
                layers = [nn.ReLU(), nn.ConvTranspose2d(in_ch, width(j), 4, 2, 1, bias=False), nn.BatchNorm2d(width(j))]
                if depth - 2 - j < 3:
                    layers.append(nn.Dropout(0.5))
                self.up.append(nn.Sequential(*layers))
            self.last = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(width(0) * 2, out_c, 4, 2, 1, bias=True), nn.Tanh())

        def forward(self, x):
            skips = []
            h = x
            for d in self.down:
                h = d(h)
                skips.append(h)
            for k, u in enumerate(self.up):
                j = depth - 2 - k
                h = u(h)
                h = torch.cat([h, skips[j]], 1)
            return self.last(h)

    return Unet()


def bench(size, batch, steps, warmup, ngf):
    torch.manual_seed(0)
    G, D = unet(size, ngf=ngf), patchgan(6, ndf=ngf)
    oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    a = torch.rand(batch, 3, size, size) * 2 - 1
    b = torch.rand(batch, 3, size, size) * 2 - 1
    times = []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        fake = G(a)
        oD.zero_grad()
        pf = D(torch.cat([a, fake.detach()], 1))
        pr = D(torch.cat([a, b], 1))
        ld = 0.5 * (bce(pf, torch.zeros_like(pf)) + bce(pr, torch.ones_like(pr)))
        ld.backward()
        oD.step()
        oG.zero_grad()
        pf = D(torch.cat([a, fake], 1))
        lg = bce(pf, torch.ones_like(pf)) + 100 * l1(fake, b)
        lg.backward()
        oG.step()
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    return {
        'size': size,
        'batch': batch,
        'secondsPerStep': statistics.median(times),
        'steps': steps,
        'paramsG': params(G),
        'paramsD': params(D),
    }


def bench_infer(size, batch, reps, warmup, ngf, in_c=3, out_c=3, depth=None, hw=None):
    """`hw` (height, width): run a network built for `size` (depth log2 size unless given) at
    another, possibly non-square, size, as Atelier translates at an image's own resolution."""
    torch.manual_seed(0)
    G = unet(size, in_c=in_c, out_c=out_c, ngf=ngf, depth=depth)
    G.eval()
    h, w = hw or (size, size)
    x = torch.rand(batch, in_c, h, w) * 2 - 1
    times = []
    with torch.inference_mode():
        for s in range(warmup + reps):
            t0 = time.perf_counter()
            G(x)
            if s >= warmup:
                times.append(time.perf_counter() - t0)
    return {
        'size': size,
        'batch': batch,
        'secondsPerImage': statistics.median(times) / batch,
        'reps': reps,
        'paramsG': params(G),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='64,128,256')
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--ngf', type=int, default=64)
    ap.add_argument('--infer', action='store_true', help='time the generator forward pass in eval mode (steps = timed runs)')
    ap.add_argument('--in-channels', type=int, default=3, help='--infer: input channels (1 for a colouriser)')
    ap.add_argument('--out-channels', type=int, default=3)
    ap.add_argument('--depth', type=int, default=0, help='--infer: U-Net depth (default log2 size)')
    ap.add_argument('--hw', default='', help='--infer: run at HxW instead of size x size')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.infer:
        hw = tuple(int(v) for v in args.hw.split('x')) if args.hw else None
        results = [bench_infer(int(s), args.batch, args.steps, args.warmup, args.ngf, args.in_channels, args.out_channels, args.depth or None, hw) for s in args.sizes.split(',') if s]
        for r in results:
            if hw:
                r['height'], r['width'] = hw
    else:
        results = [bench(int(s), args.batch, args.steps, args.warmup, args.ngf) for s in args.sizes.split(',') if s]
    print(json.dumps({
        'mode': 'infer' if args.infer else 'train',
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'blas': blas_library(),
        'results': results,
    }))


if __name__ == '__main__':
    sys.exit(main())
