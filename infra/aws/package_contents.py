"""Trims, compiles and checks what `chalice package` wrote: the Lambda code holds CareCue's runtime only (never
tests or the local stack), the dependency layer only the data CareCue reads, both zips the bytecode of their
modules compiled here (`infra.aws.bytecode`: Lambda's code folders are read-only, so without it every cold start
compiles from source), and it prints the size of each zip, unpacked before and after.
`python -m infra.aws.package_contents build/dev/package`.

Trimmed from the layer: Babel's CLDR locale data (`babel/locale-data/*.dat`, 1,000-odd locales, 30 MB) but for
the languages CareCue writes messages in (`chalicelib.render.localized.LANGUAGES`), the locales they inherit
from and `root`. Babel's global data (`babel/global.dat`: the zone-to-territory table `core.timezones` reads a
clinic's phone region from, likely subtags, parent locales) stays whole. The list is derived from LANGUAGES, so
a language added there ships its data; `tests/aws/test_package_contents.py` renders every one of them from a
trimmed copy. (Phone numbers need no trimming: the layer has `phonenumberslite`, which has no geocoder, carrier
or time-zone data to begin with.)

Also trimmed: botocore's service data (`botocore/data/<service>/`, 400-odd services, 18 MB) but for the services
CareCue's functions make clients for (`AWS_SERVICES`) and those botocore's credential chain may call, and every
service's `examples-1.json` (request examples for generated documentation, never read by a client). Botocore's
own files (`endpoints.json`, partitions, retry and default configuration) stay. A client of a trimmed service
would fail to be made (`UnknownServiceError`); the test above makes a client of every kept one from a trimmed
botocore, and checks that every client the composition root makes is in `AWS_SERVICES`.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from infra.aws.bytecode import RUNTIME, bytecode_share, compile_zip, stale_bytecode

# Top-level names that must never reach Lambda: test code, the local stack, tools.
FORBIDDEN = ("tests", "infra", "moto", "pytest", "hypothesis", "mypy", "ruff", "cfnlint")


def forbidden_entries(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    # A layer's packages sit under python/lib/pythonX.Y/site-packages/; the function's at the top.
    tops = {name.split("site-packages/", 1)[-1].split("/", 1)[0] for name in names}
    bad = {top for top in tops if top.split(".", 1)[0] in FORBIDDEN}
    if stale_bytecode(zip_path):
        bad.add("bytecode not compiled by the package step from the source beside it")
    return sorted(bad)


def runtimes(package_dir: Path) -> set[str]:
    """The Lambda runtimes the packaged template names (`python3.11`, ...)."""
    template = json.loads((package_dir / "sam.json").read_text())
    return {
        str(resource.get("Properties", {}).get("Runtime"))
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


_LOCALE_DATA = "babel/locale-data/"
_BOTOCORE_DATA = "botocore/data/"
# What the functions make clients for: chalicelib.composition's boto3 clients, and DynamoDB through PynamoDB.
AWS_SERVICES = frozenset({"dynamodb", "scheduler", "ses", "sns", "socialmessaging", "sqs", "ssm"})
# What botocore's credential chain makes clients for when a profile asks (assume role, SSO, `aws login`).
CREDENTIAL_SERVICES = frozenset({"sts", "sso", "sso-oidc", "signin"})


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


def _unused(entry: str, locales: frozenset[str], services: frozenset[str]) -> bool:
    path = entry.split("site-packages/", 1)[-1]
    if path.startswith(_LOCALE_DATA) and path.endswith(".dat"):
        return path.removeprefix(_LOCALE_DATA).removesuffix(".dat") not in locales
    if path.startswith(_BOTOCORE_DATA) and path.count("/") >= 3:  # botocore/data/<service>/<version>/<file>
        service = path.removeprefix(_BOTOCORE_DATA).split("/", 1)[0]
        return service not in services or path.endswith("/examples-1.json")
    return False


def trim_layer(
    zip_path: Path, languages: Iterable[str] | None = None, services: Iterable[str] = AWS_SERVICES
) -> tuple[int, int]:
    """Rewrites the layer zip without the locale data no shipped language reads and botocore's data for services
    no function calls; (files, bytes unpacked) dropped. Running it again drops nothing."""
    if languages is None:
        from chalicelib.render.localized import LANGUAGES

        languages = LANGUAGES
    locales = babel_locales(languages)
    kept_services = frozenset(services) | CREDENTIAL_SERVICES
    with zipfile.ZipFile(zip_path) as archive:
        dropped = [info for info in archive.infolist() if _unused(info.filename, locales, kept_services)]
        if not dropped:
            return 0, 0
        trimmed = zip_path.with_name(zip_path.name + ".trimming")
        with zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                if not _unused(info.filename, locales, kept_services):
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
    named = runtimes(Path(args[0]))
    compile_here = named == {RUNTIME}  # bytecode is for one Python version: this one, the functions' runtime
    if not compile_here:
        print(f"note: the functions run {sorted(named)}, this is {RUNTIME}: the zips ship source only", file=sys.stderr)
    for zip_path in zips:
        before = unpacked_bytes(zip_path)
        files, dropped = trim_layer(zip_path)
        if files:
            print(
                f"{zip_path}: {before / 1e6:.1f} MB unpacked as built; removed {files} unused files "
                f"({dropped / 1e6:.1f} MB: Babel locales, botocore service data and examples)"
            )
        if compile_here:
            compile_zip(zip_path, "/opt" if zip_path.name.startswith("layer") else "/var/task")
            with_bytecode, modules = bytecode_share(zip_path)
            print(f"{zip_path}: bytecode for {with_bytecode} of {modules} modules ({RUNTIME}, unchecked hash)")
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
