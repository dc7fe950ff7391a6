"""U-Net layout against the paper's Table II (params, MACs/px) and its any-size padding."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from sandwich.nets import UNet, count_params, macs_per_pixel, unet_macs_per_pixel

# Guleryuz et al., arXiv:2402.05887, Table II (C_in = C_out = 3): encoder, decoder, params, MACs/px.
TABLE_II = [
    ([32, 64, 128, 256], [512, 256, 128, 64, 32], 7_847_491, 213_943),
    ([32, 64], [128, 64, 32], 472_387, 112_531),
    ([16, 32, 64, 128], [256, 128, 64, 32, 16], 1_963_043, 53_981),
    ([16, 32], [64, 32, 16], 118_691, 28_619),
    ([8, 16, 32, 64], [128, 64, 32, 16, 8], 491_347, 13_743),
    ([8, 16], [32, 16, 8], 29_971, 7_399),
    ([32], [32, 32], 57_219, 43_347),  # slim
]
IDS = [f"{e}" for e, *_ in TABLE_II]


@pytest.fixture(autouse=True)
def seeded_single_thread() -> Iterator[None]:
    """Fixed weight init (tiny random ReLU nets can come out dead, i.e. constant), and one
    thread: these tensors are tiny, and OpenMP threads spin for seconds on a busy 2-core box."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("encoder,decoder,params,_macs", TABLE_II, ids=IDS)
def test_param_counts_match_table_ii(encoder, decoder, params, _macs):
    assert count_params(UNet(3, 3, encoder, decoder)) == params


@pytest.mark.parametrize("encoder,decoder,_params,macs", TABLE_II, ids=IDS)
def test_mac_formula_matches_table_ii(encoder, decoder, _params, macs):
    """Six entries exactly; [8,16,32,64] is the paper's documented off-by-one (METHOD §2)."""
    ours = unet_macs_per_pixel(encoder, decoder, 3, 3)
    if encoder == [8, 16, 32, 64]:
        assert (ours, macs) == (13_744, 13_743)
    else:
        assert ours == macs


@pytest.mark.parametrize("encoder,decoder,_params,_macs", TABLE_II, ids=IDS)
def test_hooked_macs_equal_the_formula(encoder, decoder, _params, _macs):
    net = UNet(3, 3, encoder, decoder)
    assert macs_per_pixel(net, 3, size=32) == unet_macs_per_pixel(encoder, decoder, 3, 3)


def test_slim_breakdown_from_method():
    """896 + 9,248 (e1) + 2×9,248 (d0) + 18,464 + 9,248 (d1) + 867 (head)."""
    net = UNet(3, 3, [32], [32, 32])
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [count_params(c) for c in convs] == [896, 9248, 9248, 9248, 18464, 9248, 867]


@pytest.mark.parametrize("h,w", [(67, 93), (1, 1), (16, 16), (5, 200)])
@pytest.mark.parametrize("down", ["decimate", "avgpool"])
def test_any_size_gives_the_input_size(h, w, down):
    net = UNet(5, 2, [4, 8, 8], [8, 8, 4, 4], down=down)
    assert net(rand(2, 5, h, w)).shape == (2, 2, h, w)


@pytest.mark.parametrize("pad", ["replicate", "reflect"])
def test_padding_is_pad_then_crop(pad):
    """Two levels: a 61x50 input runs as its bottom/right-padded 64x52 version, cropped back."""
    net = UNet(3, 3, [8, 8], [8, 8, 8], pad=pad)
    x = rand(1, 3, 61, 50, seed=1)
    padded = F.pad(x, (0, 2, 0, 3), mode=pad)
    torch.testing.assert_close(net(x), net(padded)[..., :61, :50])
    assert not torch.allclose(net(x), net(F.pad(x, (0, 2, 0, 3)))[..., :61, :50])  # not zeros


def test_down_modes_differ():
    x = rand(1, 3, 32, 32, seed=2)
    a = UNet(3, 3, [4], [4, 4], down="decimate")
    b = UNet(3, 3, [4], [4, 4], down="avgpool")
    b.load_state_dict(a.state_dict())
    assert not torch.allclose(a(x), b(x))


def test_bad_layouts_are_refused():
    with pytest.raises(ValueError, match="needs 3 decoder widths d0..d2"):
        UNet(3, 3, [32, 64], [64, 32])
    with pytest.raises(ValueError, match="needs 1 decoder widths"):
        UNet(3, 3, [], [])
    with pytest.raises(ValueError, match="choose from: decimate, avgpool"):
        UNet(3, 3, [4], [4, 4], down="maxpool")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="choose from: replicate, reflect"):
        UNet(3, 3, [4], [4, 4], pad="zeros")  # type: ignore[arg-type]
