"""Config validation: every mistake is caught before work, with the key path and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.config import load_config, parse_config
from bench.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


# A plain-codec experiment (JPEG at three chroma formats on the scikit-image photos) to edit in tests.
BASE = """
name: base
description: JPEG 4:4:4 vs 4:2:0 vs 4:0:0 (luma only) on scikit-image's sample photos
scenario: rgb
seed: 0
data:
  eval: {set: skimage}
evaluation:
  metrics: [psnr-rgb, psnr-y, ms-ssim-rgb]
  anchor: jpeg-420
  bootstrap: 1000
methods:
  - name: jpeg-444
    label: JPEG 4:4:4
    kind: codec
    codec: jpeg
    options: {mode: rgb, chroma: "444", tables: standard}
    rate_points: [10, 20, 30, 50, 70, 85, 95]
  - name: jpeg-420
    label: JPEG 4:2:0
    kind: codec
    codec: jpeg
    options: {mode: rgb, chroma: "420", tables: standard}
    rate_points: [10, 20, 30, 50, 70, 85, 95]
  - name: jpeg-400
    label: JPEG 4:0:0 (luma only)
    kind: codec
    codec: jpeg
    adapt: luma
    options: {mode: gray, tables: standard}
    rate_points: [10, 20, 30, 50, 70, 85, 95]
"""


def base_doc() -> dict:
    return yaml.safe_load(BASE)


def test_quick_yaml_is_a_sandwich_against_the_codec_it_wraps() -> None:
    """The README's main job shows the product: a trained sandwich and, as its anchor, the codec it wraps."""
    cfg = load_config(REPO / "experiments" / "quick.yaml")
    assert cfg.name == "quick" and len(cfg.config_hash()) == 64
    kinds = {m.name: m.kind for m in cfg.methods}
    sandwich = next(m for m in cfg.methods if m.kind == "sandwich")
    assert sandwich.wraps == cfg.anchor_name() and kinds[cfg.anchor_name()] == "codec"
    assert cfg.data.eval.set == "skimage" and cfg.data.train is not None and cfg.data.train.set == "bundled-photos"


def test_typo_in_method_key_names_path_and_suggestion() -> None:
    doc = base_doc()
    doc["methods"][1]["rate_ponts"] = doc["methods"][1].pop("rate_points")
    with pytest.raises(ConfigError) as e:
        parse_config(doc, "x.yaml")
    msg = str(e.value)
    assert "methods.1.rate_ponts: unknown key (did you mean 'rate_points'?)" in msg
    assert "methods.1.rate_points: required key is missing" in msg
    assert "\n" not in msg


def test_typo_at_top_level_and_nested() -> None:
    doc = base_doc()
    doc["evaluaton"] = doc.pop("evaluation")
    doc["data"]["eval"]["globb"] = "*.png"
    msg = str(pytest.raises(ConfigError, parse_config, doc, "x.yaml").value)
    assert "evaluaton: unknown key (did you mean 'evaluation'?)" in msg
    assert "data.eval.globb: unknown key (did you mean 'glob'?)" in msg


def test_bad_values() -> None:
    doc = base_doc()
    doc["methods"][0]["kind"] = "codek"
    doc["seed"] = "zero"
    msg = str(pytest.raises(ConfigError, parse_config, doc, "x.yaml").value)
    assert "methods.0" in msg and "codek" in msg
    assert "seed" in msg


def test_anchor_must_be_a_method_and_names_unique() -> None:
    doc = base_doc()
    doc["evaluation"]["anchor"] = "nope"
    assert "anchor 'nope' is not a method" in str(pytest.raises(ConfigError, parse_config, doc).value)
    doc = base_doc()
    doc["methods"][1]["name"] = "jpeg-444"
    assert "repeated: jpeg-444" in str(pytest.raises(ConfigError, parse_config, doc).value)


def test_dataset_needs_exactly_one_source() -> None:
    doc = base_doc()
    doc["data"]["eval"] = {"set": "kodak", "folder": "/x"}
    assert "exactly one of" in str(pytest.raises(ConfigError, parse_config, doc).value)


def test_profiles_merge_and_unknown_profile(tmp_path: Path) -> None:
    doc = base_doc()
    doc["profiles"] = {"tiny": {"data": {"eval": {"max_items": 2}}, "evaluation": {"bootstrap": 0}}}
    cfg = parse_config(doc, "x.yaml", profile="tiny")
    assert cfg.data.eval.max_items == 2 and cfg.evaluation.bootstrap == 0 and cfg.profile == "tiny"
    assert cfg.data.eval.set == "skimage"  # untouched keys survive the merge
    assert "choose from: tiny" in str(pytest.raises(ConfigError, parse_config, doc, "x.yaml", "full").value)
    doc["profiles"]["bad"] = {"seed": [1]}
    assert "seed" in str(pytest.raises(ConfigError, parse_config, doc, "x.yaml", "bad").value)


def test_a_profile_patches_methods_by_name_as_the_whole_list_would() -> None:
    """``methods: {name: {...} | null}`` in a profile deep-merges into (or drops) the named methods: the same
    config, and hash, as writing the whole list out."""
    doc = base_doc()
    doc["profiles"] = {"p": {"methods": {"jpeg-420": {"rate_points": [30, 60]}, "jpeg-400": None}}}
    whole = base_doc()
    whole["profiles"] = {"p": {"methods": [{**whole["methods"][0]}, {**whole["methods"][1], "rate_points": [30, 60]}]}}
    patched, written = parse_config(doc, "x.yaml", "p"), parse_config(whole, "x.yaml", "p")
    assert [m.name for m in patched.methods] == ["jpeg-444", "jpeg-420"]
    assert patched.config_hash() == written.config_hash()
    doc["profiles"]["typo"] = {"methods": {"jpeg-42": {"rate_points": [30]}}}
    msg = str(pytest.raises(ConfigError, parse_config, doc, "x.yaml", "typo").value)
    assert msg.startswith("x.yaml: profile typo: methods.jpeg-42: ") and "jpeg-444, jpeg-420, jpeg-400" in msg, msg


def _plain_merge(base: dict, over: dict) -> dict:
    """The profile merge before methods could be patched by name: mappings key by key, lists replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _plain_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.mark.parametrize("path", sorted((REPO / "experiments").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_profile_without_a_methods_mapping_keeps_its_config_hash(path: Path) -> None:
    """Patching by name changes nothing else: each profile of each experiment file that does not patch
    methods by name hashes as the plain merge does (so its run folder and trained models stay)."""
    doc = yaml.safe_load(path.read_text())
    base = {k: v for k, v in doc.items() if k != "profiles"}
    for name, over in (doc.get("profiles") or {}).items():
        if isinstance((over or {}).get("methods"), dict):
            continue
        plain = parse_config({**_plain_merge(base, over or {}), "profile": name}, str(path))
        assert load_config(path, name).config_hash() == plain.config_hash(), name


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    assert "not found" in str(pytest.raises(ConfigError, load_config, tmp_path / "nope.yaml").value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmethods: [\n")
    assert "not valid YAML" in str(pytest.raises(ConfigError, load_config, bad).value)


def test_a_later_net_option_left_at_its_default_keeps_the_config_hash() -> None:
    """net.init (added after runs existed) is out of the dump at its default, so finished runs and
    their trained models are found again; set to another value it changes the hash."""

    def cfg(net: dict) -> dict:
        return {
            "name": "s",
            "scenario": "gray400",
            "data": {"eval": {"set": "kodak"}, "train": {"set": "bsds500"}},
            "methods": [{"name": "sw", "kind": "sandwich", "lambdas": [600], "pre": net, "post": net}],
        }

    plain, default = parse_config(cfg({})), parse_config(cfg({"init": "random"}))
    assert "init" not in plain.canonical()["methods"][0]["pre"]
    assert plain.config_hash() == default.config_hash()
    assert parse_config(cfg({"init": "conventional"})).config_hash() != plain.config_hash()


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"post_flag": True}, "post_flag switches g off for the wrapped codec's own reconstruction"),
    ],
)
def test_options_of_a_wrapping_sandwich_need_wraps(extra: dict, message: str) -> None:
    doc = {
        "name": "s",
        "scenario": "gray400",
        "data": {"eval": {"set": "kodak"}, "train": {"set": "bsds500"}},
        "methods": [{"name": "sw", "kind": "sandwich", "lambdas": [600], **extra}],
    }
    assert message in str(pytest.raises(ConfigError, parse_config, doc, "x.yaml").value)
