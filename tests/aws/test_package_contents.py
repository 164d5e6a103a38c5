"""The dependency layer, trimmed at package time (`infra.aws.package_contents`), still holds what the functions
read. Babel: every shipped language's dates and clock times, rendered by Babel loaded from a trimmed layer, read
exactly as with the whole of Babel, and the phone region of a clinic's zone is still found; a language CareCue
wrote messages in whose data the layer lacked fails to render here, not in a patient's reminder. botocore: a
client of every service a function uses is made from a trimmed layer, and every client the composition root
makes is of a kept service."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import babel
import botocore

from chalicelib.core.timezones import phone_region
from chalicelib.render.localized import LANGUAGES, when_text
from chalicelib.render.templates import clock_text
from infra.aws.package_contents import AWS_SERVICES, trim_layer, unpacked_bytes

PROJECT_DIR = Path(__file__).resolve().parents[2]
SITE = "python/lib/python3.11/site-packages"
MOMENT = datetime(2026, 12, 2, 13, 30, tzinfo=ZoneInfo("America/New_York"))

# Run against the trimmed layer: every shipped language's texts, and a clinic's phone region, as JSON.
RENDER = """
import json, sys
from datetime import datetime
from zoneinfo import ZoneInfo
import babel
import botocore
from chalicelib.core.timezones import phone_region
from chalicelib.render.localized import when_text
from chalicelib.render.templates import clock_text
moment = datetime(2026, 12, 2, 13, 30, tzinfo=ZoneInfo("America/New_York"))
languages = sys.argv[1].split(",")
print(json.dumps({
    "babel": babel.__file__,
    "texts": {language: [when_text(moment, language), clock_text(moment, language)] for language in languages},
    "regions": [phone_region("America/New_York"), phone_region("Europe/Madrid"), phone_region("Asia/Riyadh")],
}))
"""


# Run against the trimmed layer: a client of each service named, made as the composition root makes them.
MAKE_CLIENTS = """
import sys
import boto3, botocore.session
session = boto3.Session(botocore_session=botocore.session.get_session(), region_name="us-east-1")
for service in sys.argv[1].split(","):
    session.client(service, aws_access_key_id="bench", aws_secret_access_key="bench")
print(botocore.__file__)
"""


def layer_with(path: Path, *modules: object) -> Path:
    """A layer zip laid out as Chalice builds it, holding the whole of each installed package given."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for module in modules:
            package = Path(str(getattr(module, "__file__", ""))).parent
            for file in package.rglob("*"):
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(file, f"{SITE}/{package.name}/{file.relative_to(package)}")
    return path


def layer_with_babel(path: Path) -> Path:
    return layer_with(path, babel)


def run_from(layer: Path, unpacked: Path, program: str, argument: str) -> subprocess.CompletedProcess[str]:
    with zipfile.ZipFile(layer) as archive:
        archive.extractall(unpacked)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(unpacked / SITE), str(PROJECT_DIR)])}
    return subprocess.run(
        [sys.executable, "-c", program, argument],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_every_shipped_language_renders_from_the_trimmed_layer_as_from_the_whole_of_babel(tmp_path: Path) -> None:
    layer = layer_with_babel(tmp_path / "layer.zip")
    before = unpacked_bytes(layer)

    files, dropped = trim_layer(layer)

    assert files > 1000 and unpacked_bytes(layer) == before - dropped
    assert unpacked_bytes(layer) < 3_000_000  # of Babel's 30 MB (botocore is not in this layer)
    done = run_from(layer, tmp_path / "unpacked", RENDER, ",".join(LANGUAGES))
    assert done.returncode == 0, done.stderr[-2000:]
    rendered = json.loads(done.stdout)
    assert rendered["babel"].startswith(str(tmp_path))  # the trimmed copy, not the installed one
    whole = {language: [when_text(MOMENT, language), clock_text(MOMENT, language)] for language in LANGUAGES}
    assert rendered["texts"] == whole
    assert rendered["texts"]["es"][0].startswith("mié 2 de dic")
    assert rendered["regions"] == [phone_region("America/New_York"), "ES", "SA"] == ["US", "ES", "SA"]
    assert trim_layer(layer) == (0, 0)  # a second packaging run changes nothing


def test_a_language_whose_data_the_layer_lacks_fails_to_render(tmp_path: Path) -> None:
    layer = layer_with_babel(tmp_path / "layer.zip")
    trim_layer(layer, languages=["en"])  # as if "es" were written in without its data

    done = run_from(layer, tmp_path / "unpacked", RENDER, "en,es")

    assert done.returncode != 0
    assert "UnknownLocaleError" in done.stderr


def test_a_client_of_every_service_the_functions_use_is_made_from_the_trimmed_layer(tmp_path: Path) -> None:
    layer = layer_with(tmp_path / "layer.zip", botocore)
    before = unpacked_bytes(layer)

    trim_layer(layer, languages=[])

    assert unpacked_bytes(layer) < before / 5  # most of botocore is the data of services CareCue never calls
    done = run_from(layer, tmp_path / "unpacked", MAKE_CLIENTS, ",".join(sorted(AWS_SERVICES)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(str(tmp_path))  # the trimmed copy, not the installed one
    dropped = run_from(layer, tmp_path / "unpacked", MAKE_CLIENTS, "s3")
    assert "UnknownServiceError" in dropped.stderr


def test_every_client_the_composition_root_makes_is_of_a_service_the_layer_keeps() -> None:
    source = (PROJECT_DIR / "chalicelib" / "composition.py").read_text()
    made = {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_client"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert {"sns", "ssm"} <= made  # the walk finds the composition root's clients
    assert made | {"dynamodb"} <= AWS_SERVICES  # DynamoDB: PynamoDB's client


# --- bytecode compiled at package time (infra.aws.bytecode) -------------------------------------------------------


def _zip_of(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def _run_from(folder: Path, program: str) -> subprocess.CompletedProcess[str]:
    # As on Lambda: the code folder read-only to Python (no bytecode written), nothing else on the path.
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", program], env=environment, capture_output=True, text=True, check=False)


def test_the_runtime_imports_the_shipped_bytecode_without_reading_the_source(tmp_path: Path) -> None:
    from infra.aws.bytecode import bytecode_share, compile_zip, stale_bytecode

    zip_path = _zip_of(tmp_path / "code.zip", {"pkg/__init__.py": "", "pkg/mod.py": "ANSWER = 'compiled'\n"})

    assert compile_zip(zip_path, "/var/task") == 2
    assert bytecode_share(zip_path) == (2, 2) and stale_bytecode(zip_path) == []
    unpacked = tmp_path / "task"
    zipfile.ZipFile(zip_path).extractall(unpacked)
    # Unchecked hash-based bytecode: the import takes it as it is, so a changed source beside it is not read.
    (unpacked / "pkg" / "mod.py").write_text("ANSWER = 'source'\n")
    done = _run_from(unpacked, "import pkg.mod, sys; print(pkg.mod.ANSWER, pkg.mod.__cached__ is not None)")

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["compiled", "True"]


def test_bytecode_not_made_from_the_source_beside_it_is_refused(tmp_path: Path) -> None:
    from infra.aws.bytecode import compile_zip, pyc_name, stale_bytecode
    from infra.aws.package_contents import forbidden_entries

    zip_path = _zip_of(tmp_path / "code.zip", {"chalicelib/a.py": "A = 1\n", "chalicelib/b.py": "B = 1\n"})
    compile_zip(zip_path, "/var/task")
    with zipfile.ZipFile(zip_path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["chalicelib/a.py"] = b"A = 2\n"  # edited after the compile
    entries["chalicelib/__pycache__/c.cpython-311.pyc"] = entries[pyc_name("chalicelib/b.py")]  # no source
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)

    assert stale_bytecode(zip_path) == [pyc_name("chalicelib/a.py"), "chalicelib/__pycache__/c.cpython-311.pyc"]
    assert forbidden_entries(zip_path) == ["bytecode not compiled by the package step from the source beside it"]
    compile_zip(zip_path, "/var/task")  # compiling again replaces it all
    assert stale_bytecode(zip_path) == []


def test_a_developers_timestamp_bytecode_is_refused(tmp_path: Path) -> None:
    import py_compile

    from infra.aws.bytecode import pyc_name, stale_bytecode

    source = tmp_path / "a.py"
    source.write_text("A = 1\n")
    pyc = py_compile.compile(str(source), cfile=str(tmp_path / "a.pyc"))  # the default: timestamp-based
    zip_path = _zip_of(tmp_path / "code.zip", {"chalicelib/a.py": "A = 1\n"})
    with zipfile.ZipFile(zip_path, "a") as archive:
        archive.write(pyc, pyc_name("chalicelib/a.py"))

    assert stale_bytecode(zip_path) == [pyc_name("chalicelib/a.py")]
