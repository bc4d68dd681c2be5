"""The demo-shapes data: deterministic scenes and captions, a tokenizer over the grammar, a detector that reads
rendered scenes correctly."""

from __future__ import annotations

import numpy as np

from diffuserve.demo_shapes import data
from diffuserve.demo_shapes.detector import detect
from diffuserve.demo_shapes.scenes import Scene, Shape, caption, random_caption, random_scene, render, vocabulary
from diffuserve.demo_shapes.tokenizer import build_tokenizer


def test_the_same_seed_gives_the_same_scenes_captions_and_pixels() -> None:
    def draw(seed: int) -> tuple[list[str], bytes]:
        rng = np.random.default_rng(seed)
        scenes = [random_scene(rng) for _ in range(8)]
        captions = [random_caption(s, rng) for s in scenes]
        return captions, b"".join(render(s).tobytes() for s in scenes)

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


def test_captions_follow_the_grammar() -> None:
    scene = Scene(shapes=(Shape("circle", "red", "small", "top left"),), background="blue")
    assert caption(scene) == "a small red circle top left on a blue background"
    two = Scene(
        shapes=(Shape("star", "orange", "small", "top left"), Shape("square", "white", "medium", "top right")),
        background="black",
    )
    assert caption(two) == "a small orange star and a medium white square on a black background"
    words = set(vocabulary())
    rng = np.random.default_rng(0)
    for _ in range(200):
        assert set(random_caption(random_scene(rng), rng).split()) <= words


def test_every_grammar_word_is_one_token_and_any_text_still_tokenizes() -> None:
    tokenizer = build_tokenizer()
    for word in vocabulary():
        assert len(tokenizer(word).input_ids) == 3, word  # BOS, the word, EOS
    ids = tokenizer("An orange triangle, top-left! 🦊").input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert len(tokenizer("x").input_ids) == 3


def test_the_detector_reads_every_rendered_single_shape_scene() -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        scene = random_scene(rng, two_shapes=0.0)
        shape = scene.shapes[0]
        found = detect(render(scene))
        assert (found.background, found.foreground, found.shape) == (scene.background, shape.colour, shape.kind)
        assert found.fill > 0.97


def test_the_detector_sees_outlines_as_hollow() -> None:
    scene = Scene(shapes=(Shape("square", "red", "large", "center"),), background="blue")
    assert detect(render(scene, outline=True)).fill < 0.5
    assert detect(render(scene)).fill > 0.97


def test_inpaint_masks_are_binary_and_usually_cover_the_shape() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for scene in data.scenes(5, 100):
        mask = data.inpaint_mask(scene, rng)
        assert set(np.unique(mask)) <= {0.0, 1.0}
        cx, cy = scene.shapes[0].centre
        covered += int(mask[int(cy), int(cx)] == 1.0)
    assert covered > 60
