"""The freedesktop trash layer: real send2trash into a private trash, found again by its
.trashinfo, across name collisions and odd names; and a volume trash on another filesystem."""
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from dedupe_gui.core import trash


@pytest.fixture
def home(private_home):
    """A private home and XDG trash on the same filesystem as tmp_path."""
    return private_home


pytestmark = pytest.mark.skipif(not trash.CAN_RESTORE, reason="freedesktop trash only")


def test_trash_goes_to_private_home_trash_and_is_located(home, tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    f = d / "été 100% #1.jpg"
    f.write_bytes(b"pixels" * 100)
    st = f.stat()
    since = datetime.now()
    trash.send_to_trash(str(f))
    assert not f.exists()
    assert trash.home_trash() == home / ".local" / "share" / "Trash"
    item = trash.locate(str(f), since, st.st_size, st.st_mtime_ns)
    assert item is not None
    assert Path(item.trash_dir) == trash.home_trash()
    assert item.file_path.read_bytes() == b"pixels" * 100
    text = item.info_path.read_text()
    assert f"Path={quote(os.fsencode(str(f)))}" in text  # URL-quoted absolute path
    orig, when = trash.read_info(item)
    assert orig == str(f)
    assert when is not None and abs((when - since).total_seconds()) < 5


def test_same_name_from_two_folders_gets_distinct_items(home, tmp_path):
    files = []
    for i, sub in enumerate(("a", "b", "c")):
        (tmp_path / sub).mkdir()
        p = tmp_path / sub / "IMG_0001.JPG"
        p.write_bytes(bytes([i]) * (1000 + i))
        files.append((p, p.stat()))
    since = datetime.now()
    for p, _ in files:
        trash.send_to_trash(str(p))
    items = [trash.locate(str(p), since, st.st_size, st.st_mtime_ns) for p, st in files]
    assert len({(i.trash_dir, i.name) for i in items}) == 3
    for (p, st), item in zip(files, items, strict=True):
        assert item.file_path.stat().st_size == st.st_size
        assert trash.read_info(item)[0] == str(p)
    # a different size or an excluded item is not "ours"
    p0, st0 = files[0]
    assert trash.locate(str(p0), since, st0.st_size + 1, st0.st_mtime_ns) is None
    assert trash.locate(str(p0), since, st0.st_size, st0.st_mtime_ns,
                        exclude=lambda it: it == items[0]) is None


def test_locate_ignores_items_older_than_the_action(home, tmp_path):
    f = tmp_path / "x.jpg"
    f.write_bytes(b"old")
    st = f.stat()
    trash.send_to_trash(str(f))
    item = trash.locate(str(f), datetime.now(), st.st_size, st.st_mtime_ns)
    assert item is not None
    text = item.info_path.read_text().replace(item.info_path.read_text().split("DeletionDate=")[1].strip(),
                                              "2001-01-01T00:00:00")
    item.info_path.write_text(text)
    assert trash.locate(str(f), datetime.now(), st.st_size, st.st_mtime_ns) is None


def test_volume_trash_on_another_filesystem(home, tmp_path):
    """A file on another filesystem goes to that volume's .Trash-$uid with a relative Path=."""
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a filesystem other than the tmp dir")
    vol = Path(tempfile.mkdtemp(dir="/dev/shm"))
    trash_dir = Path(f"/dev/shm/.Trash-{os.getuid()}")
    existed = trash_dir.exists()
    try:
        f = vol / "on volume.jpg"
        f.write_bytes(b"v" * 5000)
        st = f.stat()
        since = datetime.now()
        trash.send_to_trash(str(f))
        item = trash.locate(str(f), since, st.st_size, st.st_mtime_ns)
        assert item is not None and Path(item.trash_dir) == trash_dir
        assert "Path=" + quote(os.fsencode(os.path.relpath(f, "/dev/shm"))) in item.info_path.read_text()
        assert trash.read_info(item)[0] == str(f)
        item.file_path.unlink()
        item.info_path.unlink()
    finally:
        shutil.rmtree(vol, ignore_errors=True)
        if not existed:
            shutil.rmtree(trash_dir, ignore_errors=True)


def test_relative_paths_resolve_against_the_trash_top_directory(home, tmp_path):
    """A volume trash records Path= relative to the volume's top: .Trash-$uid's parent, or
    .Trash/$uid's grandparent (the shared sticky .Trash)."""
    for trash_dir in (tmp_path / ".Trash-1000", tmp_path / ".Trash" / "1000"):
        (trash_dir / "info").mkdir(parents=True)
        (trash_dir / "info" / "x.jpg.trashinfo").write_text(
            "[Trash Info]\nPath=photos/%C3%A9t%C3%A9%20x.jpg\nDeletionDate=2024-05-01T10:11:12\n")
        orig, when = trash.read_info(trash.TrashedItem(str(trash_dir), "x.jpg"))
        assert orig == str(tmp_path / "photos" / "été x.jpg")
        assert when == datetime(2024, 5, 1, 10, 11, 12)
    assert trash.read_info(trash.TrashedItem(str(tmp_path / "nowhere"), "x.jpg")) is None
