"""Where the FHIR `EventTiming` codes (`when`: MORN, HS, ACM, …) fall on the clock unless a clinic says otherwise.
A clinic's own times are part of its medication settings (`chalicelib.clinics.medication`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time

# FHIR `EventTiming` codes and where CareCue puts them on the clock unless the clinic says otherwise.
DEFAULT_WHEN_TIMES: Mapping[str, time] = {
    "WAKE": time(7, 0),
    "MORN": time(8, 0),
    "MORN.early": time(7, 0),
    "MORN.late": time(10, 0),
    "NOON": time(12, 0),
    "AFT": time(14, 0),
    "AFT.early": time(13, 0),
    "AFT.late": time(16, 0),
    "EVE": time(18, 0),
    "EVE.early": time(17, 0),
    "EVE.late": time(20, 0),
    "NIGHT": time(21, 0),
    "PHS": time(21, 30),
    "HS": time(22, 0),
    "ACM": time(7, 30),
    "CM": time(8, 0),
    "PCM": time(8, 30),
    "ACD": time(12, 0),
    "CD": time(12, 30),
    "PCD": time(13, 0),
    "ACV": time(18, 0),
    "CV": time(18, 30),
    "PCV": time(19, 0),
}
