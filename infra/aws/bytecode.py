"""Bytecode compiled at package time into the Lambda zips, and the check that what ships is that bytecode.

On Lambda the function's code (`/var/task`) and its layers (`/opt`) are read-only, so a zip without bytecode makes
every cold start compile each module it imports from source (boto3, botocore, pydantic, Babel, CareCue), and
throw the result away. `compile_zip` adds `__pycache__/<module>.cpython-XY.pyc` beside each `.py`, compiled by
this interpreter for the runtime of the same version, as unchecked hash-based bytecode (PEP 552): the import
system uses it without comparing timestamps, which a zip does not keep faithfully, and without reading the
source. That is only right while each `.pyc` was made from the `.py` beside it, which `stale_bytecode` checks
from the source hash in its header. The Makefile removes `chalicelib/__pycache__` before `chalice package`, so a
developer's stale bytecode never reaches the zip; what ships is only what this step compiled.

Compiled with `compileall` from a temporary copy, `ddir` set to where Lambda unpacks the zip, so a traceback
names `/var/task/chalicelib/...` or `/opt/python/...` rather than a build folder. A file that does not compile
under this Python (a package's template or test data) is left as source, as it would be on Lambda.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

TAG = sys.implementation.cache_tag  # e.g. cpython-311
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
_UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def pyc_name(source: str) -> str:
    """The bytecode path the import system looks for beside `source` (a zip entry name)."""
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.{TAG}.pyc")


def compile_zip(zip_path: Path, unpacked_at: str) -> int:
    """Adds fresh bytecode for every `.py` in the zip (replacing any already there); returns how many it added."""
    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory(prefix="carecue-pyc-") as scratch:
        sources = [info for info in archive.infolist() if info.filename.endswith(".py")]
        for info in sources:
            target = Path(scratch, info.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
        compileall.compile_dir(
            scratch,
            ddir=unpacked_at,
            quiet=2,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            workers=1,
        )
        compiled = {
            info.filename: Path(scratch, pyc_name(info.filename)).read_bytes()
            for info in sources
            if Path(scratch, pyc_name(info.filename)).is_file()
        }
        rewritten = zip_path.with_name(zip_path.name + ".compiling")
        with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                if info.filename.endswith(".pyc"):
                    continue  # only what was compiled here ships
                out.writestr(info, archive.read(info), compress_type=zipfile.ZIP_DEFLATED)
                if info.filename in compiled:
                    pyc = zipfile.ZipInfo(pyc_name(info.filename), date_time=info.date_time)
                    pyc.external_attr = info.external_attr
                    out.writestr(pyc, compiled[info.filename], compress_type=zipfile.ZIP_DEFLATED)
    os.replace(rewritten, zip_path)
    return len(compiled)


def stale_bytecode(zip_path: Path) -> list[str]:
    """Bytecode in the zip the import system should not trust: not for this Python, not unchecked hash-based, or
    not made from the source beside it (or with no source beside it)."""
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        sources = {pyc_name(name): name for name in names if name.endswith(".py")}
        stale = []
        for name in sorted(n for n in names if n.endswith(".pyc")):
            header = archive.read(name)[:16]
            source = sources.get(name)
            if (
                source is None
                or header[:4] != importlib.util.MAGIC_NUMBER
                or int.from_bytes(header[4:8], "little") != _UNCHECKED_HASH
                or header[8:16] != importlib.util.source_hash(archive.read(source))
            ):
                stale.append(name)
    return stale


def bytecode_share(zip_path: Path) -> tuple[int, int]:
    """(sources with bytecode beside them, sources): what share of the zip's modules import without compiling."""
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    sources = [name for name in names if name.endswith(".py")]
    return sum(1 for name in sources if pyc_name(name) in names), len(sources)
