"""Per-picture fingerprints: what the two matching stages need, computed from one small decode.

Stage 1 (candidate search) gets 64-bit pHashes (imagehash's algorithm: 32x32 grey, DCT, the
8x8 lowest frequencies against their median; computed here because one DCT then yields all 8
dihedral orientations exactly) of the picture, of its central 85% and of its central 70%, in
all 8 orientations, so rotated, mirrored, cropped and corner-watermarked copies land within a
few bits of the original.
Stage 2 (verification) gets 9 detail thumbnails, 32x32 bytes each: the whole picture, its
central 95/90/85/80%, its central 92% turned by +-2 degrees and its central 95% turned by
+-1 degree (a straightened horizon); the matcher correlates them. Everything is stored
whatever the scan options (mirror matching is the matcher's decision), so a cached
fingerprint serves every option. About 9.4 KB per file.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dedupe_gui.core.imageio import UnreadableImage, load_reduced

FINGERPRINT_VERSION = 6

N_ORIENT = 8  # o = rot + 4 * mirrored: np.rot90(fliplr(x) if mirrored else x, rot)
HASH_CROP = 0.85  # the central crop hashed too (a copy cropped by ~15% matches it)
HASH_INNER = 0.7  # the central 70%: clear of corner watermarks, logos and date stamps
HASH_WORDS = 3 * N_ORIENT  # [full, crop, inner], each in 8 orientations
THUMB = 32  # side of the verification thumbnails
# Verification thumbnails: (central crop fraction, rotation in degrees). The first is the
# whole picture; a copy cropped by f matches the picture's f-crop, a copy straightened by a
# couple of degrees (and so cropped a little) matches a rotated crop. The set is closed
# under the 8 orientations (+-angle), so orienting a thumbnail stack stays meaningful.
THUMB_SPEC = ((1.0, 0.0), (0.95, 0.0), (0.9, 0.0), (0.85, 0.0), (0.8, 0.0),
              (0.92, 2.0), (0.92, -2.0), (0.95, 1.0), (0.95, -1.0))
N_THUMBS = len(THUMB_SPEC)
FEATURES = N_THUMBS * THUMB * THUMB
DECODE_MIN_SIDE = 128  # reduced decode: 4x the thumbnail side, so crops/rotations resample well
WORK_SIDE = 4 * THUMB  # short side of the working copy all thumbnails are cut from
HP_SIGMA = 1.5  # high-pass: thumbnail minus its Gaussian blur (detail, not lighting)
HP_CLIP = 2.5  # robust clip in MADs: a watermark or a blown highlight cannot dominate


def orient(a: np.ndarray, o: int) -> np.ndarray:
    """Orientation ``o`` (0-7) of the last two axes of ``a``."""
    if o >= 4:
        a = a[..., ::-1]
    return np.rot90(a, o % 4, axes=(-2, -1))


def inverse_orientation(o: int) -> int:
    """The orientation undoing ``o`` (mirrored ones are reflections: their own inverse)."""
    return o if o >= 4 else (4 - o) % 4


def _orient_dct(low: np.ndarray, o: int) -> np.ndarray:
    """DCT coefficients of the picture in orientation ``o``, from the upright picture's.

    ``orient`` is a horizontal flip and quarter turns (np.rot90 = transpose of a horizontal
    flip); a flip along an axis negates the odd frequencies along it, a transpose transposes
    the block. Exact, so one DCT serves all 8 orientations.
    """
    odd = np.where(np.arange(low.shape[1]) % 2 == 1, -1.0, 1.0).astype(low.dtype)
    if o >= 4:
        low = low * odd[None, :]
    for _ in range(o % 4):
        low = (low * odd[None, :]).T
    return low


def _phash_words(img32: np.ndarray) -> np.ndarray:
    """pHash (64 bits: the 8x8 lowest DCT frequencies against their median) of a 32x32
    float32 picture in each of the 8 orientations, as uint64."""
    low = cv2.dct(img32)[:8, :8]
    blocks = np.stack([_orient_dct(low, o).ravel() for o in range(N_ORIENT)])
    bits = blocks > np.median(blocks, axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64).ravel()


def _central(a: np.ndarray, frac: float) -> np.ndarray:
    h, w = a.shape
    dy, dx = round(h * (1 - frac) / 2), round(w * (1 - frac) / 2)
    return a[dy:h - dy, dx:w - dx] if frac < 1 else a


def _square(a: np.ndarray, side: int) -> np.ndarray:
    return cv2.resize(a, (side, side), interpolation=cv2.INTER_AREA)


def _rotated(a: np.ndarray, degrees: float) -> np.ndarray:
    if not degrees:
        return a
    h, w = a.shape
    m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), degrees, 1.0)
    return cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def detail_thumbnails(regions: list[np.ndarray]) -> np.ndarray:
    """THUMB x THUMB high-passed, robustly clipped detail of grey regions, as uint8 rows.

    Detail (not brightness, contrast or soft gradients) is what tells two different photos
    of similar scenes apart; clipping at HP_CLIP median absolute deviations keeps a small
    bright watermark from dominating. Stored as 128 + 127 * value / clip bound.
    """
    t = np.stack([_square(r, THUMB) for r in regions]).astype(np.float32)
    hp = t - np.stack([cv2.GaussianBlur(x, (0, 0), HP_SIGMA) for x in t])
    flat = hp.reshape(len(t), -1)
    bound = HP_CLIP * (1.4826 * np.median(np.abs(flat), axis=1, keepdims=True) + 0.5)
    return (np.rint(np.clip(flat / bound, -1.0, 1.0) * 127.0) + 128.0).astype(np.uint8)


def fingerprint_pixels(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hashes uint64 (HASH_WORDS,), features uint8 (FEATURES,)) of an upright grey picture."""
    h, w = grey.shape
    scale = WORK_SIDE / min(h, w)
    if scale < 1:  # one area-averaging shrink; every crop and rotation comes from it
        grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))),
                          interpolation=cv2.INTER_AREA)
    hashes = np.concatenate([
        _phash_words(_square(_central(grey, frac), 32).astype(np.float32))
        for frac in (1.0, HASH_CROP, HASH_INNER)])
    feats = detail_thumbnails([_central(_rotated(grey, deg), frac) for frac, deg in THUMB_SPEC])
    return hashes, feats.ravel()


@dataclass
class FingerprintBatch:
    """Fingerprints of a chunk of files, as arrays (compact to pickle and to cache)."""

    paths: list[str]
    width: np.ndarray  # int32 (N,) displayed size
    height: np.ndarray  # int32 (N,)
    hashes: np.ndarray  # uint64 (N, HASH_WORDS)
    features: np.ndarray  # uint8 (N, FEATURES)
    skipped: list[tuple[str, str]]  # (path, reason)

    def __len__(self) -> int:
        return len(self.paths)

    @classmethod
    def empty(cls) -> FingerprintBatch:
        return cls([], np.empty(0, np.int32), np.empty(0, np.int32),
                   np.empty((0, HASH_WORDS), np.uint64), np.empty((0, FEATURES), np.uint8), [])

    def blobs(self) -> list[bytes]:
        """One blob per file: width, height (int32 LE), hashes (uint64 LE), features."""
        head = np.stack([self.width, self.height], axis=1).astype("<i4")
        hashes = self.hashes.astype("<u8")
        return [head[i].tobytes() + hashes[i].tobytes() + self.features[i].tobytes()
                for i in range(len(self.paths))]

    @classmethod
    def from_blobs(cls, paths: list[str], blobs: list[bytes]) -> FingerprintBatch:
        """The inverse of ``blobs`` (blobs of another FINGERPRINT_VERSION are the cache's job)."""
        n = len(paths)
        if n == 0:
            return cls.empty()
        size = 8 + 8 * HASH_WORDS + FEATURES
        raw = np.frombuffer(b"".join(blobs), np.uint8)
        if raw.size != n * size:
            raise ValueError(f"fingerprint blobs of the wrong size for version {FINGERPRINT_VERSION}")
        raw = raw.reshape(n, size)
        head = raw[:, :8].copy().view("<i4")
        hashes = raw[:, 8:8 + 8 * HASH_WORDS].copy().view("<u8").astype(np.uint64)
        feats = raw[:, 8 + 8 * HASH_WORDS:].copy()
        return cls(list(paths), head[:, 0].astype(np.int32), head[:, 1].astype(np.int32),
                   hashes, feats, [])

    @classmethod
    def concat(cls, batches: list[FingerprintBatch]) -> FingerprintBatch:
        if not batches:
            return cls.empty()
        return cls(
            [p for b in batches for p in b.paths],
            np.concatenate([b.width for b in batches]).astype(np.int32),
            np.concatenate([b.height for b in batches]).astype(np.int32),
            np.concatenate([b.hashes for b in batches]).astype(np.uint64),
            np.concatenate([b.features for b in batches]).astype(np.uint8),
            [s for b in batches for s in b.skipped],
        )


def fingerprint_chunk(paths: list[str]) -> FingerprintBatch:
    """THE worker function: fingerprint ``paths``; every per-file failure becomes a skip."""
    from dedupe_gui.core.parallel import worker_setup

    worker_setup()
    ok: list[str] = []
    widths: list[int] = []
    heights: list[int] = []
    hashes: list[np.ndarray] = []
    feats: list[np.ndarray] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        try:
            dec = load_reduced(path, DECODE_MIN_SIDE)
            h, f = fingerprint_pixels(dec.pixels)
        except UnreadableImage as exc:
            skipped.append((path, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file never costs the chunk
            skipped.append((path, f"cannot decode: {type(exc).__name__}: {exc}"))
            continue
        ok.append(path)
        widths.append(dec.width)
        heights.append(dec.height)
        hashes.append(h)
        feats.append(f)
    if not ok:
        batch = FingerprintBatch.empty()
        batch.skipped = skipped
        return batch
    return FingerprintBatch(ok, np.array(widths, np.int32), np.array(heights, np.int32),
                            np.stack(hashes), np.stack(feats), skipped)
