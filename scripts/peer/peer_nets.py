"""What the PyTorch peers of `atelier bench` share (torch_pix2pix.py, torch_cyclegan.py): the
reference's 70x70 PatchGAN (NLayerDiscriminator in pytorch-CycleGAN-and-pix2pix models/networks.py),
trainable parameter counts, and which BLAS library the process loaded. Never imported by the app.
"""
import torch.nn as nn


def patchgan(in_c, ndf=64, n_layers=3, norm='batch'):
    """As the reference builds it: batch norm layers have no conv bias (the norm's shift replaces
    it); instance norm (affine off) keeps the bias."""
    if norm == 'batch':
        layer_norm, bias = nn.BatchNorm2d, False
    else:
        layer_norm, bias = (lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)), True
    layers = [nn.Conv2d(in_c, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2 ** n, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=bias), layer_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias), layer_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
    return nn.Sequential(*layers)


def params(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def blas_library():
    try:
        with open('/proc/self/maps') as f:
            return sorted({line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line})
    except OSError:
        return []
