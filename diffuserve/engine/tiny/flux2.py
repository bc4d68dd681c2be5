"""Tiny FLUX.2-architecture pipelines, random weights from fixed seeds: Flux2Transformer2DModel (1 double + 1
single block) and the 32-channel AutoencoderKLFlux2, with

- [klein] (Flux2KleinPipeline): a Qwen3 text encoder deep enough for Klein's hidden-state layers (9, 18, 27) but
  16 wide, a byte-level Qwen2 tokenizer with a chat template;
- [dev] (Flux2Pipeline): a Mistral3ForConditionalGeneration (Mistral text model 30 layers deep for dev's layers
  10, 20, 30, 16 wide, and a one-layer Pixtral vision tower the pipeline does not use), a guidance-embedding
  transformer, and a byte-level BPE tokenizer with Mistral's special tokens and a chat template that reads
  FLUX.2's structured messages. The real checkpoint's tokenizer is a PixtralProcessor, which transformers 5 builds
  only with torchvision installed; the pipeline calls nothing but its apply_chat_template, which the tokenizer
  has too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKLFlux2, Flux2KleinPipeline, Flux2Pipeline, Flux2Transformer2DModel
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    Mistral3Config,
    Mistral3ForConditionalGeneration,
    PreTrainedTokenizerFast,
    Qwen2Tokenizer,
    Qwen3Config,
    Qwen3ForCausalLM,
)

from diffuserve.engine.tiny.flux import scheduler
from diffuserve.engine.tiny.tokenizer import bytes_to_unicode

TEXT_WIDTH = 16
TEXT_LAYERS = 28  # hidden_states[27] must exist
MAX_LENGTH = 64  # Klein reads up to 512 tokens; the tiny model fewer
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")
CHAT_TEMPLATE = (
    "{%- for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n"
    "{%- if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{%- endif %}"
    "{%- endif %}"
)
# Mistral's specials in the order of its Tekken vocabulary's first ids that FLUX.2 [dev] meets.
MISTRAL_SPECIALS = (
    "<unk>",
    "<s>",
    "</s>",
    "[INST]",
    "[/INST]",
    "[IMG]",
    "[IMG_BREAK]",
    "[IMG_END]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
    "<pad>",
)
MISTRAL_LAYERS = 30  # hidden_states[30] must exist
# Mistral Small 3's layout: <s>[SYSTEM_PROMPT]...[/SYSTEM_PROMPT][INST]...[/INST]; contents may be strings or
# FLUX.2's lists of {"type": "text" | "image", ...} items.
MISTRAL_CHAT_TEMPLATE = (
    "{{ bos_token }}{%- for message in messages %}"
    "{%- if message['content'] is string %}{%- set items = [{'type': 'text', 'text': message['content']}] %}"
    "{%- else %}{%- set items = message['content'] %}{%- endif %}"
    "{%- if message['role'] == 'system' %}[SYSTEM_PROMPT]"
    "{%- for item in items %}{{ item['text'] }}{%- endfor %}[/SYSTEM_PROMPT]"
    "{%- elif message['role'] == 'user' %}[INST]"
    "{%- for item in items %}{%- if item['type'] == 'text' %}{{ item['text'] }}{%- else %}[IMG]{%- endif %}"
    "{%- endfor %}[/INST]"
    "{%- else %}{%- for item in items %}{{ item['text'] }}{%- endfor %}{{ eos_token }}{%- endif %}"
    "{%- endfor %}"
)


def build_qwen_tokenizer() -> Qwen2Tokenizer:
    """Byte-level BPE over the 256 byte symbols (no merges) plus Qwen's special tokens and chat template."""
    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], model_max_length=MAX_LENGTH)
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIALS[1:])})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_mistral_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE over the 256 byte symbols (no merges, as Tekken is byte-level) after Mistral's specials."""
    vocab = {token: i for i, token in enumerate(MISTRAL_SPECIALS)}
    for symbol in bytes_to_unicode().values():
        vocab[symbol] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(list(MISTRAL_SPECIALS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=MAX_LENGTH,
    )
    tokenizer.chat_template = MISTRAL_CHAT_TEMPLATE
    return tokenizer


def build_transformer(*, seed: int, text_width: int, guidance_embeds: bool) -> Flux2Transformer2DModel:
    torch.manual_seed(seed)
    return Flux2Transformer2DModel(
        patch_size=1,
        in_channels=128,  # 32 latent channels in 2x2 patches
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=3 * text_width,  # three text-encoder layers stacked
        timestep_guidance_channels=32,
        axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=guidance_embeds,
    )


def build_vae(*, seed: int) -> AutoencoderKLFlux2:
    torch.manual_seed(seed)
    return AutoencoderKLFlux2(
        block_out_channels=(8, 16, 32, 32),
        layers_per_block=1,
        latent_channels=32,
        norm_num_groups=8,
        sample_size=64,
    )


def _components(text_encoder: Any, tokenizer: Any, *, seed: int, guidance_embeds: bool) -> dict[str, Any]:
    """A FLUX.2 pipeline's components around its text encoder: the VAE from `seed`, the transformer from seed + 1."""
    return {
        "scheduler": scheduler(),
        "vae": build_vae(seed=seed),
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "transformer": build_transformer(seed=seed + 1, text_width=TEXT_WIDTH, guidance_embeds=guidance_embeds),
    }


def build_flux2(folder: Path) -> Flux2KleinPipeline:
    """Save the Klein pipeline (base: classifier-free guidance, not step-distilled) to `folder`."""
    tokenizer = build_qwen_tokenizer()
    torch.manual_seed(70)
    text_encoder = Qwen3ForCausalLM(
        Qwen3Config(
            vocab_size=len(tokenizer),
            hidden_size=TEXT_WIDTH,
            intermediate_size=32,
            num_hidden_layers=TEXT_LAYERS,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=8,
            max_position_embeddings=4 * MAX_LENGTH,
            tie_word_embeddings=True,
        )
    ).eval()
    pipe = Flux2KleinPipeline(
        **_components(text_encoder, tokenizer, seed=71, guidance_embeds=False), is_distilled=False
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return pipe


def build_flux2_dev(folder: Path) -> Flux2Pipeline:
    """Save the FLUX.2 [dev] pipeline (distilled guidance) to `folder`."""
    tokenizer = build_mistral_tokenizer()
    ids = {token: i for i, token in enumerate(MISTRAL_SPECIALS)}
    config = Mistral3Config(
        text_config={
            "model_type": "mistral",
            "vocab_size": len(tokenizer),
            "hidden_size": TEXT_WIDTH,
            "intermediate_size": 32,
            "num_hidden_layers": MISTRAL_LAYERS,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 8,
            "max_position_embeddings": 4 * MAX_LENGTH,
            "sliding_window": None,
            "bos_token_id": ids["<s>"],
            "eos_token_id": ids["</s>"],
            "pad_token_id": ids["<pad>"],
        },
        vision_config={
            "model_type": "pixtral",
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "head_dim": 8,
            "intermediate_size": 32,
            "image_size": 64,
            "patch_size": 8,
        },
        image_token_index=ids["[IMG]"],
        spatial_merge_size=1,
        vision_feature_layer=-1,
    )
    torch.manual_seed(80)
    text_encoder = Mistral3ForConditionalGeneration(config).eval()
    pipe = Flux2Pipeline(**_components(text_encoder, tokenizer, seed=81, guidance_embeds=True))
    pipe.save_pretrained(folder, safe_serialization=True)
    return pipe
