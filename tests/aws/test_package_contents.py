"""The dependency layer's Babel data, trimmed at package time (`infra.aws.package_contents`), still holds every
shipped language: each one's dates and clock times, rendered by Babel loaded from a trimmed layer, read exactly
as with the whole of Babel, and the phone region of a clinic's zone is still found. A language CareCue wrote
messages in whose data the layer lacked would fail to render here, not in a patient's reminder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import babel

from chalicelib.core.timezones import phone_region
from chalicelib.render.localized import LANGUAGES, when_text
from chalicelib.render.templates import clock_text
from infra.aws.package_contents import trim_layer, unpacked_bytes

PROJECT_DIR = Path(__file__).resolve().parents[2]
SITE = "python/lib/python3.11/site-packages"
MOMENT = datetime(2026, 12, 2, 13, 30, tzinfo=ZoneInfo("America/New_York"))

# Run against the trimmed layer: every shipped language's texts, and a clinic's phone region, as JSON.
RENDER = """
import json, sys
from datetime import datetime
from zoneinfo import ZoneInfo
import babel
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


def layer_with_babel(path: Path) -> Path:
    """A layer zip laid out as Chalice builds it, holding the whole of the installed Babel."""
    package = Path(babel.__file__).parent
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for file in package.rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, f"{SITE}/babel/{file.relative_to(package)}")
    return path


def render_from(layer: Path, unpacked: Path, languages: list[str]) -> subprocess.CompletedProcess[str]:
    with zipfile.ZipFile(layer) as archive:
        archive.extractall(unpacked)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(unpacked / SITE), str(PROJECT_DIR)])}
    return subprocess.run(
        [sys.executable, "-c", RENDER, ",".join(languages)],
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
    assert unpacked_bytes(layer) < 3_000_000  # of Babel's 30 MB
    done = render_from(layer, tmp_path / "unpacked", list(LANGUAGES))
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

    done = render_from(layer, tmp_path / "unpacked", ["en", "es"])

    assert done.returncode != 0
    assert "UnknownLocaleError" in done.stderr
