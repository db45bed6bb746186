"""The knowledge world's parameters: the data, the two classes and their forks, the network, training and seeds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from models.params import MEGABYTE, FieldError, Params, PositiveFinite

Digit = Annotated[int, Field(strict=True, ge=0, le=9)]
DigitPair = Annotated[list[Digit], Field(min_length=2, max_length=2)]


class KnowledgeParams(Params):
    """Parameters of the knowledge world. The essays give none of learning rate, output activation or loss."""

    data: Literal["digits", "mnist"] = "digits"
    data_dir: str | None = None
    train_examples: Annotated[int, Field(strict=True, ge=2)] | None = None
    phase1_examples: Annotated[int, Field(strict=True, ge=1)] | None = None
    class_a: DigitPair = Field(default_factory=lambda: [1, 7])
    class_b: DigitPair = Field(default_factory=lambda: [6, 8])
    hidden: Annotated[int, Field(strict=True, ge=1, le=4096)] = 100
    activation: Literal["softplus", "sigmoid", "relu"] = "softplus"
    output_activation: Literal["same", "linear", "softplus", "sigmoid", "relu"] = "same"
    loss: Literal["squared", "cross_entropy"] = "squared"
    learning_rate: PositiveFinite = 0.01
    phase1_epochs: Annotated[int, Field(strict=True, ge=1, le=1000)] = 1
    phase2_epochs: Annotated[int, Field(strict=True, ge=1, le=1000)] = 1
    tally_from: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False, strict=True)] = 0.5
    seeds: Annotated[int, Field(strict=True, ge=1, le=16)] = 1
    engine: Literal["kernel", "numpy"] = "kernel"
    examples_per_step: Annotated[int, Field(strict=True, ge=1)] = 1000

    @field_validator("class_a", "class_b")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if value[0] == value[1]:
            raise ValueError(f"expected two different digits (the forks train one against the other), got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> KnowledgeParams:
        shared = sorted(set(self.class_a) & set(self.class_b))
        if shared:
            raise FieldError(("class_b",), f"expected digits not in class_a {self.class_a}; both have {shared}")
        if self.data_dir is not None and self.data != "mnist":
            raise FieldError(("data_dir",), f"only applies to data 'mnist', not {self.data!r}")
        if self.phase1_examples is not None and self.train_examples is not None \
                and self.phase1_examples >= self.train_examples:
            raise FieldError(("phase1_examples",), f"expected fewer than train_examples ({self.train_examples}): "
                             "phase 2 trains on the examples after phase 1's")
        return self

    def memory_estimate_mb(self, steps: int) -> float:
        """The data set as float64, and per seed five networks (phase 1 and the four copies) with their tallies."""
        inputs, examples = (784, 70_000) if self.data == "mnist" else (64, 1797)
        weights = inputs * self.hidden + self.hidden + self.hidden * 2 + 2
        return (examples * inputs * 8 + self.seeds * 5 * weights * 8 * 4) / MEGABYTE

    @property
    def output_kind(self) -> str:
        return self.activation if self.output_activation == "same" else self.output_activation
