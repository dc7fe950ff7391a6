"""A member rebuilt from a stored model's card alone (``bench encode`` / ``decode``, the model zoo).

Apart from :mod:`sandwich.card` because it builds the members, which themselves use the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import CodecMethodConfig, SandwichMethodConfig
from bench.scenarios import SCENARIOS
from sandwich import store
from sandwich.card import Member, load_stored
from sandwich.member import SandwichMember
from sandwich.video_member import VideoSandwichMember
from sandwich.wrapped import WrappedCodec


def member_from_card(folder: Path, device: str = "cpu") -> tuple[Member, dict[str, Any]]:
    """Rebuild the member a stored model belongs to from its card alone, with its weights loaded."""
    card = store.load_card(folder)
    scenario = SCENARIOS.get(card["scenario"])
    method = {**card["method"], "lambdas": [card["gamma"]]}
    if method.get("video"):  # where training started is history: the weights are here
        method["video"] = {**method["video"], "init_from": None}
    cfg = SandwichMethodConfig.model_validate(method)
    channels = card["source_channels"]
    wrapped = None
    if card.get("wraps"):
        assert scenario.bottleneck is not None
        wrapped = WrappedCodec.of(CodecMethodConfig.model_validate(card["wraps"]), scenario.bottleneck, channels)
    member: Member
    if card["modality"] == "video":
        member = VideoSandwichMember(cfg, scenario, card["gamma"], (), card["seed"], wrapped)
    else:
        member = SandwichMember(cfg, scenario, card["gamma"], channels, card["seed"], wrapped)
    load_stored(member, folder, device)
    return member, card
