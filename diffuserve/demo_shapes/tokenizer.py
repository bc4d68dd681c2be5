"""A real CLIP BPE tokenizer whose vocabulary is every byte plus one token per word of the scene grammar.

Any prompt tokenizes (unknown words fall back to bytes); the grammar's words are single tokens, built by a chain
of merges per word (`c i` -> `ci`, `ci r` -> `cir`, ... `circl e</w>` -> `circle</w>`).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from transformers import CLIPTokenizer

from diffuserve.demo_shapes.scenes import vocabulary
from diffuserve.engine.tiny.tokenizer import bytes_to_unicode

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MAX_LENGTH = 77  # SD's prompt length


def _bpe(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """CLIP's BPE on one word: merge the best-ranked adjacent pair until none is known."""
    while len(symbols) > 1:
        pairs = [(ranks.get(p, len(ranks)), i) for i, p in enumerate(itertools.pairwise(symbols))]
        rank, i = min(pairs)
        if rank == len(ranks):
            break
        symbols = [*symbols[:i], symbols[i] + symbols[i + 1], *symbols[i + 2 :]]
    return symbols


def merges() -> list[tuple[str, str]]:
    """Merges that make every grammar word one token: for each word, join what BPE leaves of it left to right
    (appended last, so earlier words keep their tokens), until every word is whole."""
    out: list[tuple[str, str]] = []
    for _ in range(10):
        done = True
        for word in vocabulary():
            pieces = _bpe([*word[:-1], word[-1] + "</w>"], {m: r for r, m in enumerate(out)})
            prefix = pieces[0]
            for piece in pieces[1:]:
                done = False
                if (prefix, piece) not in out:
                    out.append((prefix, piece))
                prefix += piece
        if done:
            return out
    raise AssertionError("the grammar's words do not settle into single tokens")


def vocab() -> dict[str, int]:
    """Token -> id, laid out like CLIP's: bytes, bytes + </w>, merge results, then the two specials."""
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    for a, b in merges():
        if a + b not in tokens:
            tokens.append(a + b)
    tokens += [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}


def build_tokenizer() -> CLIPTokenizer:
    return CLIPTokenizer(vocab=vocab(), merges=merges(), model_max_length=MAX_LENGTH, pad_token=EOS)


def save_tokenizer(tokenizer: CLIPTokenizer, folder: Path) -> None:
    """tokenizer.json for transformers 5 plus the vocab.json/merges.txt pair that any CLIPTokenizer reads."""
    tokenizer.save_pretrained(folder)
    (folder / "vocab.json").write_text(json.dumps(vocab(), ensure_ascii=False))
    lines = [" ".join(m) for m in merges()]
    (folder / "merges.txt").write_text("\n".join(["#version: 0.2", *lines]) + "\n")
