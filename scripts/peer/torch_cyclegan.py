#!/usr/bin/env python3
"""PyTorch peer for `atelier bench`: the CycleGAN training step at the paper's widths, as in
pytorch-CycleGAN-and-pix2pix (models/networks.py, models/cycle_gan_model.py):

- generators: ResnetGenerator, ngf 64, instance norm (affine off, so every conv has a bias),
  reflection padding, 6 residual blocks up to 128 px and 9 above, 3x3 stride-2 transposed convs
  (padding 1, output_padding 1), tanh;
- discriminators: the 70x70 PatchGAN (NLayerDiscriminator, ndf 64, 3 layers, instance norm);
- losses: LSGAN (MSE on logits), cycle L1 x 10 each way, identity 0.5 x 10;
- one step = forward of both generators, the generator update (both D frozen, Adam 2e-4 beta1
  0.5), then both discriminators' update on real and (detached) fake images. The image pool is
  left out (a copy, no compute).

`--batched`: as Atelier's step runs it under instance norm up to 128x128 pixels per domain
(models/cyclegan.ts): each generator's two independent applications (G_A on A and on B for the
identity, G_B on B and on A) as one batch, and each discriminator's real and fake halves; the same
computation per sample. The bench reports it beside the reference step, to show how much of a
ratio is that restructuring rather than the kernels.

Prints one JSON object: torch version, threads, the BLAS library loaded, and per size the median
seconds per step and the trainable parameter counts of one G and one D (to check against ours).
Run by the bench like torch_pix2pix.py (LD_LIBRARY_PATH with OpenBLAS first); never imported by
the app.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn

from peer_nets import blas_library, params, patchgan


def resnet_generator(in_c=3, out_c=3, ngf=64, blocks=6):
    norm = lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=True), norm(c), nn.ReLU(True),
                nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=True), norm(c))

        def forward(self, x):
            return x + self.body(x)

    layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_c, ngf, 7, bias=True), norm(ngf), nn.ReLU(True)]
    for i in range(2):
        m = 2 ** i
        layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1, bias=True), norm(ngf * m * 2), nn.ReLU(True)]
    layers += [Block(ngf * 4) for _ in range(blocks)]
    for i in range(2):
        m = 2 ** (2 - i)
        layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1, bias=True), norm(ngf * m // 2), nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_c, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def set_grad(nets, on):
    for n in nets:
        for p in n.parameters():
            p.requires_grad = on


def bench(size, batch, steps, warmup, ngf, ndf, blocks, batched=False):
    torch.manual_seed(0)
    blocks = blocks or (6 if size <= 128 else 9)
    G_A, G_B = resnet_generator(ngf=ngf, blocks=blocks), resnet_generator(ngf=ngf, blocks=blocks)
    D_A, D_B = patchgan(3, ndf=ndf, norm='instance'), patchgan(3, ndf=ndf, norm='instance')
    oG = torch.optim.Adam(list(G_A.parameters()) + list(G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    lam, idt = 10.0, 0.5
    A = torch.rand(batch, 3, size, size) * 2 - 1
    B = torch.rand(batch, 3, size, size) * 2 - 1
    pG, pD = params(G_A), params(D_A)
    if steps == 0:
        return {'size': size, 'batch': batch, 'blocks': blocks, 'secondsPerStep': None, 'steps': 0, 'paramsG': pG, 'paramsD': pD}
    times = []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        # generators (cycle_gan_model.backward_G)
        set_grad([D_A, D_B], False)
        oG.zero_grad()
        if batched:
            fake_B, idt_A = G_A(torch.cat([A, B])).split(batch)
            fake_A, idt_B = G_B(torch.cat([B, A])).split(batch)
        else:
            fake_B, fake_A = G_A(A), G_B(B)
            idt_A, idt_B = G_A(B), G_B(A)
        rec_A = G_B(fake_B)
        rec_B = G_A(fake_A)
        pa, pb = D_A(fake_B), D_B(fake_A)
        loss_G = (mse(pa, torch.ones_like(pa)) + mse(pb, torch.ones_like(pb))
                  + lam * l1(rec_A, A) + lam * l1(rec_B, B)
                  + lam * idt * l1(idt_A, B) + lam * idt * l1(idt_B, A))
        loss_G.backward()
        oG.step()
        # discriminators (backward_D_A, backward_D_B)
        set_grad([D_A, D_B], True)
        oD.zero_grad()
        for D, real, fake in ((D_A, B, fake_B), (D_B, A, fake_A)):
            pr, pf = D(torch.cat([real, fake.detach()])).split(batch) if batched else (D(real), D(fake.detach()))
            ((mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf))) * 0.5).backward()
        oD.step()
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    return {'size': size, 'batch': batch, 'blocks': blocks, 'secondsPerStep': statistics.median(times), 'steps': steps, 'batched': batched, 'paramsG': pG, 'paramsD': pD}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='64,128,256')
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--steps', type=int, default=3, help='timed steps (0: parameter counts only)')
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--ngf', type=int, default=64)
    ap.add_argument('--ndf', type=int, default=64)
    ap.add_argument('--blocks', type=int, default=0, help='residual blocks (default 6 up to 128 px, 9 above)')
    ap.add_argument('--batched', action='store_true', help="independent applications as one batch, as Atelier's step")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = [bench(int(s), args.batch, args.steps, args.warmup, args.ngf, args.ndf, args.blocks, args.batched) for s in args.sizes.split(',') if s]
    print(json.dumps({'mode': 'train', 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library(), 'results': results}))


if __name__ == '__main__':
    sys.exit(main())
