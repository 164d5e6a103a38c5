"""Checks what `chalice package` wrote: the Lambda code holds CareCue's runtime only (never tests or the local
stack), and prints the size of each zip. `python -m infra.aws.package_contents build/dev/package`."""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Sequence
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
        unpacked = sum(info.file_size for info in zipfile.ZipFile(zip_path).infolist())
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
