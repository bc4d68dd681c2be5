"""A synthetic byte-level CLIP BPE tokenizer: every byte is a token, so any unicode prompt tokenizes."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import CLIPTokenizer

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
# A handful of merges in the style of CLIP's first merges, so the BPE step is exercised.
_MERGES: tuple[tuple[str, str], ...] = (
    ("i", "n"),
    ("t", "h"),
    ("a", "n"),
    ("r", "e"),
    ("e", "r"),
    ("th", "e</w>"),
    ("o", "n"),
    ("a", "t"),
)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from bytes to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + n)
            n += 1
    return dict(zip(printable, (chr(c) for c in codes), strict=True))


def clip_vocab() -> tuple[dict[str, int], list[str]]:
    """Vocabulary (token -> id) and merge lines, laid out like CLIP's: bytes, bytes+</w>, merges, specials."""
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in _MERGES] + [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, [" ".join(m) for m in _MERGES]


def build_tokenizer() -> CLIPTokenizer:
    """The tokenizer, with SD's 77-token limit and EOS padding."""
    vocab, _ = clip_vocab()
    return CLIPTokenizer(vocab=vocab, merges=list(_MERGES), model_max_length=77, pad_token=EOS)


def save_tokenizer(tokenizer: CLIPTokenizer, folder: Path) -> None:
    """Save tokenizer.json and also the slow-format vocab.json/merges.txt that older transformers read."""
    tokenizer.save_pretrained(folder)
    vocab, merges = clip_vocab()
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("\n".join(["#version: 0.2", *merges]) + "\n")
