"""Video experiment configs: keys, did-you-mean, plan-time checks, and the train/eval split."""

from __future__ import annotations

from typing import Any

import pytest

from bench.config import parse_config
from bench.errors import ConfigError, DataError
from bench.plan import build_plan

EVAL = {"video": "${data}/video/BasketballPass_416x240_100f", "fps": 50, "frames": 2, "crop": [32, 48]}
BASELINE = {
    "name": "x265-400",
    "kind": "codec",
    "codec": "x265",
    "adapt": "luma",
    "options": {"chroma": "400"},
    "rate_points": [32, 37],
}


def doc(**over: Any) -> dict[str, Any]:
    d = {
        "name": "v",
        "scenario": "gray400",
        "data": {"eval": dict(EVAL)},
        "methods": [dict(BASELINE)],
        "evaluation": {"metrics": ["psnr-yuv"]},
    }
    d.update(over)
    return d


def test_a_video_eval_set_plans_with_fps_frames_and_crop() -> None:
    plan = build_plan(parse_config(doc()))
    assert plan.video and plan.rate_key == "kbps"
    item = plan.eval_set.items[0]
    assert item.fps == 50 and len(item.parts) == 100  # every frame of the folder is hashed
    assert plan.sources[item.name].frames.shape == (2, 32, 48, 3) and plan.sources[item.name].fps == item.fps


def test_image_configs_dump_no_video_keys() -> None:
    """Unset video keys stay out of the dump: image experiments keep their config hash and run folder."""
    cfg = parse_config(
        {
            "name": "i",
            "scenario": "rgb",
            "data": {"eval": {"set": "kodak"}},
            "methods": [{"name": "j", "kind": "codec", "codec": "jpeg", "rate_points": [50]}],
        }
    )
    data = cfg.canonical()["data"]
    assert set(data) == {"eval", "train"} and set(data["eval"]) == {"set", "folder", "glob", "max_items"}


@pytest.mark.parametrize(
    "eval_over, message",
    [
        ({"frame": 2}, "data.eval.frame: unknown key (did you mean 'frames'?)"),
        ({"crop": [31, 48]}, "crop must be two even sizes"),
        ({"set": "kodak"}, "give exactly one of 'set'"),
    ],
)
def test_video_dataset_key_errors(eval_over: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_config(doc(data={"eval": {**EVAL, **eval_over}}))


def test_video_keys_need_video() -> None:
    with pytest.raises(ConfigError, match="frames, fps: only for video clips"):
        parse_config(doc(data={"eval": {"set": "kodak", "frames": 3, "fps": 25}}))
    with pytest.raises(ConfigError, match="needs a video eval set"):
        parse_config(doc(data={"eval": {"set": "kodak"}, "train_stills": {"set": "bsds500"}}))


@pytest.mark.parametrize(
    "method, message",
    [
        ({**BASELINE, "codec": "hevc"}, r"methods.0 \(x265-400\).codec: 'hevc' is not a video codec; .*x265"),
        (
            {**BASELINE, "codec": "av1"},
            r"codec: 'av1' is not a video codec; a video experiment takes: av1-ld, x264, x265$",
        ),
        ({**BASELINE, "codec": "vp9"}, r"codec: unknown codec 'vp9'; choose from: av1-ld, x264, x265$"),
        ({**BASELINE, "options": {"chroma": "420"}}, "adapt 'luma' and options chroma '400' go together"),
        ({**BASELINE, "adapt": "msb8", "options": {}}, "adapt 'msb8' is not for video"),
        ({**BASELINE, "options": {"chroma": "400", "preset": "warp"}}, "option 'preset' must be one of"),
        ({**BASELINE, "rate_points": [32.5]}, r"rate_points.0: x265 qp must be an integer in 0..51, got 32.5"),
    ],
)
def test_video_method_errors(method: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plan(parse_config(doc(methods=[method])))


def test_sequence_metrics_and_video_scenarios_only() -> None:
    with pytest.raises(ConfigError, match="'ms-ssim-rgb-db' is not a sequence metric"):
        build_plan(parse_config(doc(evaluation={"metrics": ["ms-ssim-rgb-db"]})))
    with pytest.raises(ConfigError, match="'hdr' is not for video"):
        build_plan(parse_config(doc(scenario="hdr")))


def test_a_sandwich_needs_training_data() -> None:
    sandwich = {"name": "s", "kind": "sandwich", "lambdas": [100], "pre": {"unet": False}, "post": {"unet": False}}
    with pytest.raises(ConfigError, match="needs training clips"):
        build_plan(parse_config(doc(methods=[BASELINE, sandwich])))


def test_training_on_the_eval_sequence_is_refused() -> None:
    same = {"data": {"eval": EVAL, "train": {"video": [EVAL["video"]], "fps": 50}}}
    with pytest.raises(DataError, match="BasketballPass_416x240_100f appear in the training data"):
        build_plan(parse_config(doc(**same)))
    frames_as_stills = {
        "data": {
            "eval": EVAL,
            "train": {"video": ["${data}/video/foreman_176x144_30fps.yuv"]},
            "train_stills": {"folder": EVAL["video"], "glob": "f09*.png"},
        }
    }
    with pytest.raises(DataError, match=r"BasketballPass_416x240_100f \(a frame\) appear in the training data"):
        build_plan(parse_config(doc(**frames_as_stills)))


def test_video_sandwich_block_typo_names_the_key() -> None:
    sandwich = {"name": "s", "kind": "sandwich", "lambdas": [100], "video": {"frame": 4}}
    with pytest.raises(ConfigError, match=r"methods.1.video.frame: unknown key \(did you mean 'frames'\?\)"):
        parse_config(doc(methods=[BASELINE, sandwich]))
