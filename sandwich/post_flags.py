"""Post flags: the encoder switches g per block to where it lowers the error, one bit per block.

As HEVC's SAO (per 64² CTU) and VVC's ALF switch their loop filters: the encoder has the source, so
it keeps g's output only in the blocks where that is closer to the source than the wrapped codec's
own reconstruction; the decoder reads the bits. Shared by evaluation (``SandwichMember``), the
training check and ``bench encode`` / ``decode``, so all three count and apply the same flags.
"""

from __future__ import annotations

import numpy as np

FLAG_BLOCK = 64  # one bit per 64 x 64 block (VVC's ALF switches per 128² CTU, HEVC's SAO per 64²)


def flag_bytes(blocks: int) -> int:
    """The post flags' side information: one bit per block, packed into bytes."""
    return -(-blocks // 8)


def block_sums(err: np.ndarray) -> np.ndarray:
    """Sum of an H x W (x C) array over each FLAG_BLOCK² block (the last row/column of blocks partial)."""
    h, w = err.shape[:2]
    e = err.reshape(h, w, -1).sum(-1)
    e = np.pad(e, ((0, -h % FLAG_BLOCK), (0, -w % FLAG_BLOCK)))
    return e.reshape(e.shape[0] // FLAG_BLOCK, FLAG_BLOCK, e.shape[1] // FLAG_BLOCK, FLAG_BLOCK).sum((1, 3))


def block_mask(on: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The per-pixel H x W mask of per-block flags."""
    return np.kron(on.astype(bool), np.ones((FLAG_BLOCK, FLAG_BLOCK), bool))[: size[0], : size[1]]


def switch(source: np.ndarray, without: np.ndarray, with_post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Ŝ, flags as a blocks-high x blocks-wide bool array): g's output where it is closer to the source."""
    src = source.astype(np.float64)
    gain = block_sums((without - src) ** 2) - block_sums((with_post - src) ** 2)
    on = gain > 0
    return np.where(block_mask(on, source.shape[:2])[..., None], with_post, without), on
