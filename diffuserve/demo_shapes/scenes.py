"""The demo-shapes world: 64x64 scenes of one or two flat shapes on a coloured background, and their captions.

Everything is drawn from a `numpy` Generator, so a seed reproduces the data exactly; nothing is downloaded.
Captions come from a small grammar ("a small red circle top left on a blue background"); attributes are left
out at random so that partial prompts ("a circle", "red") mean something, and the empty caption trains the
unconditional branch that classifier-free guidance and negative prompts use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64  # image side in pixels
SUPERSAMPLE = 4  # drawn at 4x and reduced with a box filter: antialiased edges

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 140, 20),
    "yellow": (245, 225, 40),
    "green": (30, 160, 60),
    "blue": (30, 70, 220),
    "purple": (140, 50, 180),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
SIZES: dict[str, float] = {"small": 8.0, "medium": 12.0, "large": 17.0}  # circumradius in pixels
POSITIONS: dict[str, tuple[float, float]] = {  # centre as a fraction of the free range for the shape's size
    "center": (0.5, 0.5),
    "top left": (0.0, 0.0),
    "top right": (1.0, 0.0),
    "bottom left": (0.0, 1.0),
    "bottom right": (1.0, 1.0),
}
MARGIN = 3.0  # pixels between a shape's circumcircle and the image edge at the extreme positions
JITTER = 2.0  # random offset of a shape's centre, pixels


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    size: str
    position: str
    dx: float = 0.0
    dy: float = 0.0

    @property
    def radius(self) -> float:
        return SIZES[self.size]

    @property
    def centre(self) -> tuple[float, float]:
        fx, fy = POSITIONS[self.position]
        low, high = self.radius + MARGIN, SIZE - self.radius - MARGIN
        return low + fx * (high - low) + self.dx, low + fy * (high - low) + self.dy


@dataclass(frozen=True)
class Scene:
    shapes: tuple[Shape, ...]
    background: str


def shape_points(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """The polygon of a shape (a circle is drawn as an ellipse, so it has none)."""
    if kind == "square":
        h = r * 0.8
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if kind == "triangle":
        h = r * 1.1  # pointing up; the centroid sits a little below the centre so it looks centred
        angles = (-90.0, 30.0, 150.0)
        return [(cx + h * math.cos(math.radians(a)), cy + 0.2 * r + h * math.sin(math.radians(a))) for a in angles]
    if kind == "star":
        points = []
        for i in range(10):
            radius = r * 1.05 if i % 2 == 0 else r * 0.42
            a = math.radians(-90.0 + 36.0 * i)
            points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
        return points
    raise ValueError(f"no polygon for {kind!r}")


def render(scene: Scene, *, outline: bool = False) -> Image.Image:
    """The scene as a 64x64 RGB image; `outline` draws each shape's contour only (the LoRA's style)."""
    s = SUPERSAMPLE
    image = Image.new("RGB", (SIZE * s, SIZE * s), COLOURS[scene.background])
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        cx, cy = shape.centre
        colour = COLOURS[shape.colour]
        fill = None if outline else colour
        width = 2 * s if outline else 0
        if shape.kind == "circle":
            r = shape.radius * 0.9
            box = ((cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s)
            draw.ellipse(box, fill=fill, outline=colour if outline else None, width=width)
        else:
            points = [(x * s, y * s) for x, y in shape_points(shape.kind, cx, cy, shape.radius)]
            if outline:
                draw.line([*points, points[0], points[1]], fill=colour, width=width, joint="curve")
            else:
                draw.polygon(points, fill=fill)
    return image.resize((SIZE, SIZE), Image.Resampling.BOX)


def random_shape(rng: np.random.Generator, *, exclude: set[str], sizes: tuple[str, ...] = tuple(SIZES)) -> Shape:
    colour = str(rng.choice([c for c in COLOURS if c not in exclude]))
    return Shape(
        kind=str(rng.choice(SHAPES)),
        colour=colour,
        size=str(rng.choice(sizes)),
        position=str(rng.choice(list(POSITIONS))),
        dx=float(rng.uniform(-JITTER, JITTER)),
        dy=float(rng.uniform(-JITTER, JITTER)),
    )


def random_scene(rng: np.random.Generator, *, two_shapes: float = 0.15) -> Scene:
    """One or two shapes (two with probability `two_shapes`: left and right, not overlapping)."""
    background = str(rng.choice(list(COLOURS)))
    first = random_shape(rng, exclude={background})
    if rng.random() >= two_shapes:
        return Scene(shapes=(first,), background=background)
    second = random_shape(rng, exclude={background, first.colour}, sizes=("small", "medium"))
    left = str(rng.choice(["top left", "bottom left"]))
    right = str(rng.choice(["top right", "bottom right"]))
    first = replace(first, size=second.size if first.size == "large" else first.size, position=left)
    return Scene(shapes=(first, replace(second, position=right)), background=background)


@dataclass(frozen=True)
class CaptionStyle:
    """Which attributes a caption names; left-out ones are free in the image."""

    size: bool = True
    colour: bool = True
    kind: bool = True
    position: bool = True
    background: bool = True


FULL = CaptionStyle()


def caption(scene: Scene, style: CaptionStyle = FULL) -> str:
    """The grammar: `a [size] [colour] <shape|shape> [position] [on a <colour> background]`, shapes joined by
    `and` (a second shape's position is implied: the first is on the left)."""
    phrases = []
    for shape in scene.shapes:
        words = []
        if style.size:
            words.append(shape.size)
        if style.colour:
            words.append(shape.colour)
        words.append(shape.kind if style.kind else "shape")
        words.insert(0, _article(words[0]))
        if style.position and len(scene.shapes) == 1:
            words.append("in the center" if shape.position == "center" else shape.position)
        phrases.append(" ".join(words))
    text = " and ".join(phrases)
    if style.background:
        text += f" on {_article(scene.background)} {scene.background} background"
    return text


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def random_caption(scene: Scene, rng: np.random.Generator) -> str:
    """A caption naming a random subset of the scene's attributes (sometimes a single word, sometimes empty)."""
    u = rng.random()
    if u < 0.10:
        return ""  # unconditional: classifier-free guidance and negative prompts
    first = scene.shapes[0]
    if u < 0.14 and len(scene.shapes) == 1:
        return str(rng.choice([first.colour, first.kind]))
    style = CaptionStyle(
        size=rng.random() < 0.5,
        colour=rng.random() < 0.85,
        kind=rng.random() < 0.85,
        position=rng.random() < 0.6,
        background=rng.random() < 0.7,
    )
    return caption(scene, style)


def vocabulary() -> list[str]:
    """Every word the grammar uses (the tokenizer gives each its own token)."""
    words = {"a", "an", "and", "on", "in", "the", "background", "shape", *SHAPES, *COLOURS, *SIZES}
    for position in POSITIONS:
        words.update(position.split())
    return sorted(words)
