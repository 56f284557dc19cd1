"""Integration tests use the GUI fixtures (private dirs, thread-leak check) and share one
set of generated pictures per session (generation is the slow part)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.gui.conftest import no_thread_left, private_dirs  # noqa: F401 - fixtures
from tests.gui.images import make_photo, write_jpeg

STALL_PICTURES = 220


@pytest.fixture(scope="session")
def many_pictures(tmp_path_factory):
    """220 real-looking 1.2 MP JPEGs (every 10th with a re-encoded copy) in one folder."""
    import cv2

    root = tmp_path_factory.mktemp("many")

    def one(i: int) -> None:
        img = make_photo(10_000 + i, 1280, 960)
        write_jpeg(root / f"p{i:04d}.jpg", img, 88)
        if i % 10 == 0:
            small = cv2.resize(img, (800, 600), interpolation=cv2.INTER_AREA)
            write_jpeg(root / "copies" / f"p{i:04d}_small.jpg", small, 70)

    (root / "copies").mkdir()
    with ThreadPoolExecutor(2) as pool:  # cv2 and numpy release the GIL
        list(pool.map(one, range(STALL_PICTURES)))
    return root
