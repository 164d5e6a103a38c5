"""The page behind a dose's "taken" link (`/d/{token}`): GET shows one button and changes nothing (link
scanners are harmless); its POST marks the dose taken. A tampered or expired link changes nothing. The page is
in the patient's language, with the dose time as the dose message wrote it."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from chalicelib.core.clock import Clock
from chalicelib.core.observability import logger
from chalicelib.core.records import Clinic, Regimen
from chalicelib.core.timezones import local_time
from chalicelib.links.page_words import page_text
from chalicelib.links.service import Page, html_page, page, patient_language
from chalicelib.links.tokens import InvalidLink
from chalicelib.regimens.dose_links import DoseClaim, verify_dose
from chalicelib.store import clinics, regimens

if TYPE_CHECKING:
    from chalicelib.links.service import LinkSigner
    from chalicelib.regimens.doses import RegimenDoses


class DosePages:
    def __init__(self, clock: Clock, signer: LinkSigner, doses: RegimenDoses) -> None:
        self._clock = clock
        self._signer = signer
        self._doses = doses

    def show(self, token: str) -> Page:
        found = self._open(token)
        if isinstance(found, Page):
            return found
        claim, regimen, clinic = found
        language = patient_language(regimen.clinic_id, regimen.patient_id)
        local_due = local_time(claim.due_at, regimen.timezone)
        button = html.escape(page_text("I have taken it", language))
        question = html.escape(page_text("Your {at} medicine: taken?", language, local_at=local_due))
        form = f'<form method="post"><button type="submit">{button}</button></form>'
        return Page(200, html_page(clinic.name, f"<p>{question}</p>{form}", language))

    def act(self, token: str) -> Page:
        found = self._open(token)
        if isinstance(found, Page):
            return found
        claim, regimen, clinic = found
        language = patient_language(regimen.clinic_id, regimen.patient_id)
        local_due = local_time(claim.due_at, regimen.timezone)
        if self._doses.taken(claim.clinic_id, claim.regimen_id, claim.due_at, via="link") is None:
            return page(404, clinic.name, page_text("This dose is not known. Nothing was changed.", language), language)
        thanks = page_text("Thank you. Your {at} medicine is marked as taken.", language, local_at=local_due)
        return page(200, clinic.name, thanks, language)

    def _open(self, token: str) -> tuple[DoseClaim, Regimen, Clinic] | Page:
        try:
            claim = verify_dose(token, self._signer.key(), self._clock.now())
        except InvalidLink as e:
            return _refused(type(e).__name__)
        regimen = regimens.find(claim.clinic_id, claim.regimen_id, consistent=False)
        clinic = clinics.find_clinic(claim.clinic_id) if regimen is not None else None
        if regimen is None or clinic is None:
            return _refused("DoesNotExist")  # the problem named as it always was in this log line
        return claim, regimen, clinic


def _refused(problem: str) -> Page:
    logger.info("dose link refused", extra={"problem": problem})
    return page(404, "Link not valid", "This link is not valid or has expired. Nothing was changed.")
