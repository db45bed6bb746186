"""The cooperation world's parameters: players, the game f and g, the paths r_t and s_t, update rules, the ledger,
reputation and votes, and the economy (Tunador (2023), §4–§5; symbols as in the paper)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from models.expressions import ExpressionError, compile_expression
from models.params import MEGABYTE, FieldError, Finite, Params, PositiveFinite

MAX_EXPONENT = 690.0  # ln(1e300): the largest e^x a path may reach and still leave the utilities room
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
Count = Annotated[int, Field(strict=True, ge=0)]
PathKind = Literal["constant", "linear", "exponential", "logistic"]
GAIN_NAMES = ("cooperation_gain", "aggression_gain", "trade_gain", "defence_gain", "harm")
STATE_NAMES = ("x", "C", "A", "Ch", "Ca", "r", "s", "t")
DEFAULT_HUMAN_UTILITY = "x * trade_gain * Ca * (1 + r) + (1 - x) * defence_gain - harm * s * (1 - Ca)"
DEFAULT_AI_UTILITY = "x * cooperation_gain * (Ch + r) + (1 - x) * aggression_gain * s"



class CooperationParams(Params):
    """Parameters of the cooperation world (Tunador (2023), §4–§5; symbols as in the paper)."""

    n_humans: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] = 30  # m
    n_ais: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] = 20  # distinct AIs (IDs)
    copies: Annotated[int, Field(strict=True, ge=1, le=1000)] = 1  # players per AI ID (identical copies)
    initial_cooperation: Probability = 0.5
    # the game
    human_utility: str = DEFAULT_HUMAN_UTILITY  # f
    ai_utility: str = DEFAULT_AI_UTILITY  # g
    cooperation_gain: Finite = 1.0  # guideline 1: raise it
    aggression_gain: Finite = 0.5  # guideline 2: cut it
    trade_gain: Finite = 1.0
    defence_gain: Finite = 0.5
    harm: Finite = 0.2
    constants: dict[str, Finite] = Field(default_factory=dict)
    reliance_path: PathKind = "linear"  # r_t; guideline 3: raise it
    reliance_start: Finite = 0.2
    reliance_rate: Finite = 0.0
    reliance_asymptote: PositiveFinite | None = None
    intelligence_path: PathKind = "exponential"  # s_t; guideline 4: slow it
    intelligence_start: PositiveFinite = 1.0
    intelligence_rate: Finite = 0.05
    intelligence_asymptote: PositiveFinite | None = None
    update_rule: Literal["best_response", "fermi", "reinforcement"] = "best_response"
    revision_rate: Probability = 0.1
    noise: Probability = 0.02
    imitation_temperature: PositiveFinite = 0.1  # the Fermi rule's K
    learning_rate: Probability = 0.2
    reinforcement_scale: PositiveFinite = 1.0
    engine: Literal["kernel", "numpy", "agents"] = "kernel"
    agent_objects: bool | None = None
    # the chain: "signed" (Ed25519 blocks in SQLite), "unsigned" (the same rules, no signatures), "off" (game only)
    ledger: Literal["signed", "unsigned", "off"] = "signed"
    ledger_path: str = ":memory:"
    keys: Literal["random", "from_parameters"] = "random"
    public_weights: Probability = 0.0  # share of AIs whose weights an attacker can read
    attacker: bool = False
    # reputation and bans
    votes_per_round: Count = 2  # reputation votes each active identity casts per round (on random AIs)
    observation_noise: Probability = 0.1  # a voter misreads the strategy it saw
    vote_step: PositiveFinite = 0.05
    ban_threshold: Probability = 0.2
    newcomer_reputation: Probability = 0.5  # neutral 0.5; lower penalises newcomers (whitewashers)
    whitewash_rate: Probability = 0.0  # P(a banned AI changes its weights this round, to get a new ID)
    self_improvement_rate: Probability = 0.0  # P(an active AI changes its weights this round: `mutate`, signed)
    mutation_flip: Probability = 0.2  # P(a whitewashed AI's copies switch strategy with the new weights)
    # voting
    voting_rule: Literal["one_id_one_vote", "equal_collective"] = "one_id_one_vote"
    proposal_every: Count = 0  # every k rounds an AI proposes to abolish the tax (0: never)
    # P(an AI's own utility favours abolishing the tax): 1, the AIs vote as a bloc; 0.5, as divided as a coin (§7)
    ai_agreement: Probability = 1.0
    # economy (Tunador (2023), eqs 1-5) and redistribution
    tax_rate: Probability = 0.2
    veil_of_ignorance: bool = False  # choose the tax that maximises the minimum utility instead
    price_compute: PositiveFinite | Literal["market"] = 1.0  # p_M
    compute_supply: PositiveFinite = 1.0  # M_h per human (for the market price)
    wage: PositiveFinite = 1.0  # w_h
    hours: PositiveFinite = 16.0  # T
    other_income: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)] = 0.5  # θ
    price_production: PositiveFinite = 1.0  # p_P
    price_quality: PositiveFinite = 1.0  # p_Q (the paper gives Q_h no price; see models.cooperation.economy)
    price_consumption: PositiveFinite = 1.0  # p_C
    human_exponents: tuple[PositiveFinite, PositiveFinite, PositiveFinite, PositiveFinite] = (0.2, 0.1, 0.4, 0.3)
    ai_exponents: tuple[PositiveFinite, PositiveFinite, PositiveFinite, PositiveFinite, PositiveFinite] = (
        0.3, 0.1, 0.05, 0.15, 0.4)
    ai_times: tuple[PositiveFinite, PositiveFinite, PositiveFinite, PositiveFinite] = (0.5, 1.0, 1.0, 0.5)  # t_P..t_M
    parameter_size: Annotated[int, Field(strict=True, ge=1, le=4096)] = 8  # length of an AI's parameter vector
    checkpoint_every: Count = 1  # write a resumable checkpoint with every k-th block (0: never)

    @model_validator(mode="after")
    def _consistent(self) -> CooperationParams:
        for side in ("reliance", "intelligence"):
            kind, start = getattr(self, f"{side}_path"), getattr(self, f"{side}_start")
            asymptote = getattr(self, f"{side}_asymptote")
            if kind == "logistic":
                if asymptote is None:
                    raise FieldError((f"{side}_asymptote",), "a logistic path needs an asymptote")
                if not 0 < start < asymptote:
                    raise FieldError((f"{side}_start",), f"a logistic path needs 0 < start < asymptote "
                                     f"({asymptote}), got {start}")
            elif asymptote is not None:
                raise FieldError((f"{side}_asymptote",), f"only applies to a logistic path, not {kind!r}")
        for name in self.constants:
            if name in STATE_NAMES or name in GAIN_NAMES:
                raise FieldError(("constants", name), "this name is already an input of f and g")
        for key in ("human_utility", "ai_utility"):
            try:
                compile_expression(getattr(self, key), self.expression_names())
            except ExpressionError as exc:
                raise FieldError((key,), str(exc)) from None
        if self.ledger == "off" and (self.attacker or self.whitewash_rate > 0 or self.proposal_every > 0
                                     or self.self_improvement_rate > 0):
            raise FieldError(("ledger",), "attacker, whitewashing, self-improvement and proposals need the ledger "
                             "('signed' or 'unsigned'), not 'off'")
        if self.attacker and self.ledger != "signed":
            raise FieldError(("attacker",), "key theft needs signatures: set ledger: signed")
        if self.ledger_path != ":memory:" and self.ledger != "signed":
            raise FieldError(("ledger_path",), "only a signed ledger is stored")
        folder = Path(self.ledger_path).expanduser().parent
        if self.ledger_path != ":memory:" and not folder.is_dir():
            raise FieldError(("ledger_path",), f"the folder {str(folder)!r} does not exist; expected a file in an "
                             "existing folder (or ':memory:')")
        return self

    def memory_estimate_mb(self, steps: int) -> float:
        """Each player's rows and agent, each AI's identity, and a ledger held in memory: every identity's
        transactions (its votes, a payment and a tax or UBI entry) every round."""
        players = self.n_humans + self.n_ais * self.copies
        ledger = 0 if self.ledger == "off" or self.ledger_path != ":memory:" else \
            (self.n_humans + self.n_ais) * (self.votes_per_round + 2) * 400 * steps
        return (players * 1024 + self.n_ais * 512 + ledger) / MEGABYTE

    def check_run(self, steps: int) -> None:
        """Also refuse an exponential path (or a logistic one run backwards) whose value would pass 1e300 within
        the run: s_t = start e^(rate t) overflows double precision long before the utilities can use it."""
        super().check_run(steps)
        for side in ("reliance", "intelligence"):
            kind, start, rate = (getattr(self, f"{side}_{name}") for name in ("path", "start", "rate"))
            growth = rate if kind == "exponential" else -rate if kind == "logistic" else 0.0
            if growth * steps + math.log(max(abs(start), 1.0)) > MAX_EXPONENT:
                raise FieldError((f"{side}_rate",), f"{side}_path {kind} at rate {rate:g} passes 1e300 within "
                                 f"{steps} rounds; expected |rate| x rounds <= {MAX_EXPONENT} (at most "
                                 f"{int(MAX_EXPONENT / abs(growth))} rounds at this rate)")

    def expression_names(self) -> list[str]:
        return [*STATE_NAMES, *GAIN_NAMES, *self.constants]
