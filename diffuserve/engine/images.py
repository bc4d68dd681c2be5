"""Pixel work around the pipelines: fitting inputs to the output size, binarising masks, merging inpaint results."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def fit_image(image: Image.Image, width: int, height: int) -> Image.Image:
    """The input image as RGB at the output size (Lanczos); the pipelines expect exactly that size."""
    image = image.convert("RGB")
    return image if image.size == (width, height) else image.resize((width, height), Image.Resampling.LANCZOS)


def fit_reference(image: Image.Image, width: int, height: int, multiple: int) -> Image.Image:
    """A reference image (FLUX.2) as RGB with about the output's pixel count, its own aspect ratio kept, each
    side a multiple of `multiple`: every reference costs what the output costs, however large it came."""
    image = image.convert("RGB")
    scale = (width * height / (image.width * image.height)) ** 0.5
    size = tuple(max(multiple, round(side * scale / multiple) * multiple) for side in image.size)
    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)


def fit_mask(mask: Image.Image, width: int, height: int) -> Image.Image:
    """The mask at the output size, like the image: resized bilinearly, then binarised (white = replace).

    A mask whose size differs from the image is stretched to the image's output size, so it covers the same
    relative region of the picture.
    """
    mask = mask.convert("L")
    if mask.size != (width, height):
        mask = mask.resize((width, height), Image.Resampling.BILINEAR)
    return mask.point(lambda v: 255 if v >= 128 else 0)


def merge_inpaint(original: Image.Image, generated: Image.Image, mask: Image.Image) -> Image.Image:
    """Generated pixels inside the mask, original pixels outside, blended over a soft edge.

    The edge is a Gaussian blur of the mask about 1/64 of the image side wide, grown outward only, so every pixel
    of the mask is fully generated and pixels further than the edge from it are exactly the original.
    """
    radius = max(1, round(min(mask.size) / 64))
    grown = mask.filter(ImageFilter.MaxFilter(2 * radius + 1))
    soft = grown.filter(ImageFilter.GaussianBlur(radius))
    # Keep the mask itself fully generated: max(original mask, blurred grown mask).
    alpha = Image.fromarray(np.maximum(np.asarray(mask), np.asarray(soft)))
    return Image.composite(generated.convert("RGB"), original.convert("RGB"), alpha)
