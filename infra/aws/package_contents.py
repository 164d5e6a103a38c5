"""Trims and checks what `chalice package` wrote: the Lambda code holds CareCue's runtime only (never tests or the
local stack), the dependency layer only the data CareCue reads, and it prints the size of each zip, unpacked
before and after. `python -m infra.aws.package_contents build/dev/package`.

Trimmed from the layer: Babel's CLDR locale data (`babel/locale-data/*.dat`, 1,000-odd locales, 30 MB) but for
the languages CareCue writes messages in (`chalicelib.render.localized.LANGUAGES`), the locales they inherit
from and `root`. Babel's global data (`babel/global.dat`: the zone-to-territory table `core.timezones` reads a
clinic's phone region from, likely subtags, parent locales) stays whole. The list is derived from LANGUAGES, so
a language added there ships its data; `tests/aws/test_package_contents.py` renders every one of them from a
trimmed copy. (Phone numbers need no trimming: the layer has `phonenumberslite`, which has no geocoder, carrier
or time-zone data to begin with.)
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

# Top-level names that must never reach Lambda: test code, the local stack, tools.
FORBIDDEN = ("tests", "infra", "moto", "pytest", "hypothesis", "mypy", "ruff", "cfnlint")


def forbidden_entries(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    # A layer's packages sit under python/lib/pythonX.Y/site-packages/; the function's at the top.
    tops = {name.split("site-packages/", 1)[-1].split("/", 1)[0] for name in names}
    bad = {top for top in tops if top.split(".", 1)[0] in FORBIDDEN}
    if any(name.startswith("chalicelib/") and "__pycache__/" in name for name in names):
        bad.add("chalicelib bytecode")
    return sorted(bad)


_LOCALE_DATA = "babel/locale-data/"


def babel_locales(languages: Iterable[str]) -> frozenset[str]:
    """The locale files Babel reads for `languages`: each one's own and every locale it inherits from, by Babel's
    rule (CLDR's parent exceptions, else the identifier less its last part), down to `root`, which all share."""
    from babel.core import get_global

    exceptions = get_global("parent_exceptions")
    kept = {"root"}
    for language in languages:
        name = language.replace("-", "_")
        while name != "root":
            kept.add(name)
            name = exceptions.get(name) or (name.rsplit("_", 1)[0] if "_" in name else "root")
    return frozenset(kept)


def _unused_locale_data(entry: str, kept: frozenset[str]) -> bool:
    path = entry.split("site-packages/", 1)[-1]
    if not path.startswith(_LOCALE_DATA) or not path.endswith(".dat"):
        return False
    return path.removeprefix(_LOCALE_DATA).removesuffix(".dat") not in kept


def trim_layer(zip_path: Path, languages: Iterable[str] | None = None) -> tuple[int, int]:
    """Rewrites the layer zip without the locale data no shipped language reads; (files, bytes unpacked) dropped.
    Running it again drops nothing."""
    if languages is None:
        from chalicelib.render.localized import LANGUAGES

        languages = LANGUAGES
    kept = babel_locales(languages)
    with zipfile.ZipFile(zip_path) as archive:
        dropped = [info for info in archive.infolist() if _unused_locale_data(info.filename, kept)]
        if not dropped:
            return 0, 0
        trimmed = zip_path.with_name(zip_path.name + ".trimming")
        with zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                if not _unused_locale_data(info.filename, kept):
                    out.writestr(info, archive.read(info), compress_type=zipfile.ZIP_DEFLATED)
    os.replace(trimmed, zip_path)
    return len(dropped), sum(info.file_size for info in dropped)


def unpacked_bytes(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(info.file_size for info in archive.infolist())


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m infra.aws.package_contents PACKAGE_DIR", file=sys.stderr)
        return 2
    zips = sorted(Path(args[0]).glob("*.zip"))
    if not zips:
        print(f"error: no zip in {args[0]}", file=sys.stderr)
        return 1
    failed = False
    for zip_path in zips:
        before = unpacked_bytes(zip_path)
        files, dropped = trim_layer(zip_path)
        if files:
            print(f"{zip_path}: {before / 1e6:.1f} MB unpacked as built; {files} unused Babel locale files removed")
        unpacked = unpacked_bytes(zip_path)
        print(f"{zip_path}: {zip_path.stat().st_size / 1e6:.2f} MB zipped, {unpacked / 1e6:.1f} MB unpacked")
        bad = forbidden_entries(zip_path)
        if bad:
            print(
                f"error: {zip_path.name} holds {', '.join(bad)}: test and local-stack code never ships", file=sys.stderr
            )
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
