"""A simple detector of what a demo-shapes image shows: background colour, foreground colour, shape, fill.

No learning: the background is the colour of the border, the foreground the pixels far from it; colours are
named by the nearest palette colour and the shape by two measures of the largest foreground blob:
solidity (area / convex hull area: a star is far from convex) and extent (area / bounding box: square 1.0,
circle 0.79, triangle 0.5). Good enough to score generated images; the thresholds are checked against
rendered scenes in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from diffuserve.demo_shapes.scenes import COLOURS

FOREGROUND_DISTANCE = 80.0  # RGB distance from the background colour above which a pixel is foreground
_NAMES = list(COLOURS)
_PALETTE = np.array([COLOURS[n] for n in _NAMES], dtype=np.float32)


@dataclass(frozen=True)
class Detection:
    background: str
    foreground: str | None  # None: no foreground found
    shape: str | None
    foreground_fraction: float  # share of the image that is foreground
    colour_share: float  # share of the foreground pixels nearest to `foreground`
    fill: float  # foreground pixels / their hole-filled area: about 1 for a solid shape, low for an outline
    solidity: float
    extent: float
    centre: tuple[float, float] | None  # (x, y) of the largest blob, pixels


def colour_name(rgb: np.ndarray) -> str:
    return _NAMES[int(np.argmin(((_PALETTE - rgb) ** 2).sum(-1)))]


def nearest_names(pixels: np.ndarray) -> np.ndarray:
    """Palette index of each pixel (N x 3)."""
    index: np.ndarray = np.argmin(((pixels[:, None, :] - _PALETTE[None]) ** 2).sum(-1), axis=1)
    return index


def _hull_area(points: np.ndarray) -> float:
    try:
        return float(ConvexHull(points).volume)
    except (QhullError, ValueError):
        return 0.0


def classify(solidity: float, extent: float) -> str:
    if solidity < 0.8:
        return "star"
    if extent > 0.88:
        return "square"
    if extent > 0.66:
        return "circle"
    return "triangle"


def detect(image: Image.Image) -> Detection:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    border = np.concatenate([rgb[:2].reshape(-1, 3), rgb[-2:].reshape(-1, 3), rgb[:, :2].reshape(-1, 3)])
    border = np.concatenate([border, rgb[:, -2:].reshape(-1, 3)])
    background = np.median(border, axis=0)
    far = np.sqrt(((rgb - background) ** 2).sum(-1)) > FOREGROUND_DISTANCE
    bg_name = colour_name(background)
    labels, count = ndimage.label(far)
    if count == 0:
        return Detection(bg_name, None, None, 0.0, 0.0, 0.0, 0.0, 0.0, None)
    sizes = ndimage.sum(far, labels, index=range(1, count + 1))
    blob = labels == (int(np.argmax(sizes)) + 1)
    filled = ndimage.binary_fill_holes(blob)
    fg_pixels = rgb[far]
    names = nearest_names(fg_pixels)
    counts = np.bincount(names, minlength=len(_NAMES))
    fg_index = int(np.argmax(counts))
    ys, xs = np.nonzero(filled)
    area = float(filled.sum())
    # pixel centres plus their corners, so a hull of a few pixels has the pixels' real area
    corners = np.concatenate([np.stack([xs + dx, ys + dy], -1) for dx in (0, 1) for dy in (0, 1)])
    hull = _hull_area(corners.astype(np.float64))
    box = float((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1))
    solidity = area / hull if hull else 0.0
    extent = area / box
    return Detection(
        background=bg_name,
        foreground=_NAMES[fg_index],
        shape=classify(solidity, extent) if area >= 12 else None,
        foreground_fraction=float(far.mean()),
        colour_share=float(counts[fg_index] / counts.sum()),
        fill=float(blob.sum() / area),
        solidity=solidity,
        extent=extent,
        centre=(float(xs.mean()), float(ys.mean())),
    )


def colour_fraction(image: Image.Image, colour: str, region: np.ndarray | None = None) -> float:
    """Share of the pixels (in `region`, a boolean mask, if given) whose nearest palette colour is `colour`."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3)
    if region is not None:
        rgb = rgb[region.reshape(-1)]
    if len(rgb) == 0:
        return 0.0
    return float((nearest_names(rgb) == _NAMES.index(colour)).mean())
