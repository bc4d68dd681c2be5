"""A tiny FLUX.2 [klein]-architecture pipeline: Flux2Transformer2DModel (1 double + 1 single block), a Qwen3
text encoder deep enough for Klein's hidden-state layers (9, 18, 27) but 16 wide, a byte-level Qwen2 tokenizer
with a chat template, the 32-channel AutoencoderKLFlux2; random weights from fixed seeds."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKLFlux2, Flux2KleinPipeline, Flux2Transformer2DModel
from transformers import Qwen2Tokenizer, Qwen3Config, Qwen3ForCausalLM

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


def build_qwen_tokenizer() -> Qwen2Tokenizer:
    """Byte-level BPE over the 256 byte symbols (no merges) plus Qwen's special tokens and chat template."""
    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], model_max_length=MAX_LENGTH)
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIALS[1:])})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


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
    torch.manual_seed(71)
    vae = AutoencoderKLFlux2(
        block_out_channels=(8, 16, 32, 32),
        layers_per_block=1,
        latent_channels=32,
        norm_num_groups=8,
        sample_size=64,
    )
    torch.manual_seed(72)
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=128,  # 32 latent channels in 2x2 patches
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=3 * TEXT_WIDTH,  # three Qwen3 layers stacked
        timestep_guidance_channels=32,
        axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=False,
    )
    pipe = Flux2KleinPipeline(
        scheduler=scheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return pipe
