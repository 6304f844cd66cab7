"""The reference VLA's settings: architecture plus what the acceleration passes changed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

PAD, UNKNOWN = "<pad>", "<unk>"


class TokenPruning(BaseModel):
    """Keep ``keep`` visual tokens after language layer ``after_layer`` (1-based); ``keep_top`` forced."""

    model_config = ConfigDict(extra="forbid")

    after_layer: int = Field(ge=1)
    keep: int = Field(ge=1)
    keep_top: int = Field(ge=0)


class VLAConfig(BaseModel):
    """Vision encoder → visual tokens → Llama-style decoder stack → DiT flow-matching action head."""

    model_config = ConfigDict(extra="forbid")

    image_size: int = 64
    patch_size: int = 8
    vision_layers: int = 2
    hidden_size: int = 128
    heads: int = 4
    language_layers: int = 8
    intermediate_sizes: list[int] = Field(default_factory=list)  # per language layer; empty: 2×hidden
    vocab: list[str] = Field(default_factory=lambda: [PAD, UNKNOWN])
    max_text_tokens: int = 8
    state_dim: int = 4
    action_dim: int = 4
    horizon: int = 8
    head_width: int = 128
    head_layers: int = 4
    head_heads: int = 4
    denoise_steps: int = 10
    # written by the acceleration passes
    kept_layers: list[int] = Field(default_factory=list)  # original indices of the remaining layers
    token_pruning: TokenPruning | None = None
    cache_interval: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> VLAConfig:
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}"
            )
        if not self.intermediate_sizes:
            self.intermediate_sizes = [2 * self.hidden_size] * self.language_layers
        if not self.kept_layers:
            self.kept_layers = list(range(self.language_layers))
        if (
            len(self.intermediate_sizes) != self.language_layers
            or len(self.kept_layers) != self.language_layers
        ):
            raise ValueError("intermediate_sizes and kept_layers need one entry per language layer")
        if self.vocab[:2] != [PAD, UNKNOWN]:
            raise ValueError(f"the vocabulary must start with {PAD} and {UNKNOWN}")
        pruning = self.token_pruning
        if pruning and not (
            pruning.after_layer < self.language_layers and pruning.keep <= self.visual_tokens
        ):
            raise ValueError(
                f"token pruning after layer {pruning.after_layer} keeping {pruning.keep} does not fit "
                f"{self.language_layers} layers and {self.visual_tokens} visual tokens"
            )
        return self

    @property
    def visual_tokens(self) -> int:
        """Number of image patches (visual tokens) per observation."""
        return (self.image_size // self.patch_size) ** 2

    @property
    def sequence_length(self) -> int:
        """Tokens entering the language module: visual, text, one state token."""
        return self.visual_tokens + self.max_text_tokens + 1


def tokenize(instruction: str, vocab: list[str], length: int) -> list[int]:
    """Word ids of ``instruction`` (lower-cased), unknown words as <unk>, padded or cut to ``length``."""
    index = {word: i for i, word in enumerate(vocab)}
    ids = [index.get(word, 1) for word in instruction.lower().replace(",", " ").split()][:length]
    return ids + [0] * (length - len(ids))


def vocabulary(instructions: list[str]) -> list[str]:
    """The vocabulary of a set of instructions, in first-seen order after <pad> and <unk>."""
    words: dict[str, None] = {}
    for text in instructions:
        words.update(dict.fromkeys(text.lower().replace(",", " ").split()))
    return [PAD, UNKNOWN, *words]
