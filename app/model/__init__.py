"""The MTSA inpainting network (torch only)."""

from .config import ModelConfig
from .discriminator import PatchDiscriminator
from .generator import GeneratorOutput, InpaintGenerator
from .mtsa import MTSA, AttentionRecord, MTSAOutput, attention_weights, masked_softmax

__all__ = [
    "MTSA",
    "AttentionRecord",
    "MTSAOutput",
    "GeneratorOutput",
    "InpaintGenerator",
    "ModelConfig",
    "PatchDiscriminator",
    "attention_weights",
    "masked_softmax",
]
