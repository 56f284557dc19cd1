"""Our batched pHash is imagehash's pHash: imagehash is the oracle, not a runtime dependency.

fingerprint.py computes the hash itself because one DCT then gives all 8 orientations; this
checks it still agrees with the reference implementation bit for bit where the DCT scaling
cannot matter, and within a couple of bits overall (cv2's DCT is orthonormal, scipy's used by
imagehash is not: the first row and column are scaled differently, which can move the median).
"""
import imagehash
import numpy as np
from PIL import Image

from dedupe_gui.core.fingerprint import _phash_words
from tests.core.imagegen import photo


def _reference_bits(img32: np.ndarray) -> np.ndarray:
    return imagehash.phash(Image.fromarray(img32), hash_size=8).hash.ravel()


def _our_bits(img32: np.ndarray) -> np.ndarray:
    word = _phash_words(img32.astype(np.float32))[0]  # orientation 0 = upright
    return np.unpackbits(np.array([word], ">u8").view(np.uint8)).astype(bool)


def test_phash_matches_imagehash_on_generated_photos():
    distances = []
    for seed in range(40):
        grey = photo(seed, 320, 240).mean(axis=2).astype(np.uint8)
        img32 = np.asarray(Image.fromarray(grey).resize((32, 32), Image.LANCZOS))
        distances.append(int((_reference_bits(img32) != _our_bits(img32)).sum()))
    assert max(distances) <= 4, distances
    assert np.mean(distances) <= 1.0, distances
    assert distances.count(0) >= 20, distances
