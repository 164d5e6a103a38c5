"""The composition root: the one place that builds AWS clients and services, lazily, once per process.

Nothing is created at import, so `import app` stays cheap, and a cold start pays only for what its handler
uses: a client is made on its first call, not when a service holding it is built (the authorizer never makes
the SSM client, a fire that sends an SMS never makes SES's or Scheduler's), and a timer's owner is built when
a timer of that owner fires (an appointment's reminder imports no regimen code). The clients and PynamoDB's
DynamoDB client are made from one botocore session (`chalicelib.store.models.bind_tables`), so the data
botocore loads per session is loaded once; they are botocore's clients, so no handler imports boto3. Tests and
the local stack call `configure` to inject a clock or a boto3 session and `reset` to start over.

Two clocks: `clock` is the application's "now" (what the local stack simulates and moves), `transport_clock`
the real time that transport checks use: a webhook signature's freshness window. It is the system clock unless
a caller passes another, and the local stack does not: after `advance P2D` a booking tool still signs with real
time, and its delivery must be accepted. Tests pass their own so that no test depends on the real date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import Clock, SystemClock
from chalicelib.core.heap import settle
from chalicelib.settings import Settings

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

    from chalicelib.appointments.service import AppointmentService
    from chalicelib.arm.timers import ReminderTimers
    from chalicelib.audit import AuditTrail
    from chalicelib.board.service import Board
    from chalicelib.clinics.access import ClinicAccess
    from chalicelib.clinics.messenger_credentials import MessengerCredentials
    from chalicelib.clinics.replan import ClinicReplans
    from chalicelib.clinics.service import ClinicService
    from chalicelib.clinics.settings_service import ClinicSettingsService
    from chalicelib.fire.dispatch import Dispatcher
    from chalicelib.fire.queue import FireBatch
    from chalicelib.forms.service import Forms
    from chalicelib.inbox.service import Inbox
    from chalicelib.intake.lookups import BookingLookups
    from chalicelib.intake.service import WebhookIntake
    from chalicelib.links.details_page import DetailsPages
    from chalicelib.links.form_page import FormPages
    from chalicelib.links.service import LinkSigner, PatientLinks
    from chalicelib.meter.meter import UsageMeter
    from chalicelib.meter.release import SpendCapRelease
    from chalicelib.meter.sender import MeteredSender
    from chalicelib.patients.service import PatientService
    from chalicelib.reconcile.reminders import ReminderReconciler
    from chalicelib.regimens.dose_pages import DosePages
    from chalicelib.regimens.doses import RegimenDoses, RegimenMessages
    from chalicelib.regimens.service import RegimenService, RegimenTimers
    from chalicelib.replies.inbound import SmsReplies
    from chalicelib.replies.messenger import MessengerWebhook
    from chalicelib.replies.whatsapp import WhatsAppEvents
    from chalicelib.send.email_feedback import EmailFeedback
    from chalicelib.send.messenger import MessengerApi, MessengerChannel
    from chalicelib.send.sms import SmsChannel
    from chalicelib.send.whatsapp import WhatsAppChannel
    from chalicelib.visits.service import VisitService
    from chalicelib.waiting.again import WaitingNotices
    from chalicelib.waiting.service import WaitingService


class LazyClient:
    """Stands in for a client and makes it on first use: holding a client costs nothing, calling it
    (or reading any attribute, e.g. `meta` or `exceptions`) makes it, once."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            from chalicelib.store.models import CLIENT_LOCK

            with CLIENT_LOCK:
                if self._client is None:
                    self._client = self._make()
                    settle()  # the client lives as long as the process: no full collection walks it again
        return getattr(self._client, name)


class BuiltOnFirstUse(Mapping[str, Any]):
    """A mapping whose values are made when first looked up (the dispatcher's owners by owner type)."""

    def __init__(self, makers: Mapping[str, Callable[[], Any]]) -> None:
        self._makers = makers
        self._built: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._built:
            self._built[key] = self._makers[key]()
        return self._built[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


class Services:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        session: boto3.Session | None = None,
        transport_clock: Clock | None = None,
    ) -> None:
        import botocore.session

        from chalicelib.store.models import bind_tables

        self.settings = settings
        self.clock = clock
        self.transport_clock = transport_clock or SystemClock()
        # boto3 keeps the botocore session it wraps as `_session` (its constructor takes one; no getter returns it).
        self._botocore_session = botocore.session.get_session() if session is None else session._session
        if session is None:
            # A session of its own (Lambda's): its SSM, SNS and DynamoDB clients are made from models of just the
            # operations the functions call, ~20 ms less of a cold fire (infra/aws/service_models.py).
            loader = self._botocore_session.get_component("data_loader")
            loader.search_paths.insert(0, str(Path(__file__).parent / "aws_models"))
        bind_tables(settings.resource_prefix, settings.region, self._botocore_session)

    def _client(self, service: str) -> Any:
        """A client made on first use from the shared botocore session itself: no handler imports boto3 (~25 ms
        of CPU on a cold start, which `import boto3` + one client, the bench's floor, pays; docs/performance.md).
        boto3 adds nothing to a client of these services: its own handlers are for S3 and resources."""
        return LazyClient(lambda: self._botocore_session.create_client(service, region_name=self.settings.region))

    @cached_property
    def sns(self) -> SNSClient:
        return self._client("sns")  # type: ignore[no-any-return]

    @cached_property
    def ses(self) -> SESClient:
        return self._client("ses")  # type: ignore[no-any-return]

    @cached_property
    def scheduler(self) -> EventBridgeSchedulerClient:
        return self._client("scheduler")  # type: ignore[no-any-return]

    @cached_property
    def sqs(self) -> SQSClient:
        return self._client("sqs")  # type: ignore[no-any-return]

    @cached_property
    def ssm(self) -> SSMClient:
        return self._client("ssm")  # type: ignore[no-any-return]

    @cached_property
    def reminder_timers(self) -> ReminderTimers:
        from chalicelib.arm.timers import ReminderTimers

        # Every CareCue timer points at the stage's group, Scheduler's role and the DLQ; a reminder's at the fire
        # queue (taken 10 at a time: `fire_batch`), the others at the fire function.
        return ReminderTimers(
            self.scheduler,
            group=self.settings.schedule_group,
            target_arn=self.settings.fire_function_arn,
            reminder_target_arn=self.settings.fire_queue_arn,
            role_arn=self.settings.scheduler_role_arn,
            dead_letter_arn=self.settings.dead_letter_queue_arn,
        )

    @cached_property
    def regimen_timers(self) -> RegimenTimers:
        from chalicelib.regimens.service import RegimenTimers

        return RegimenTimers(self.reminder_timers)

    @cached_property
    def sms(self) -> SmsChannel:
        from chalicelib.send.sms import SmsChannel

        return SmsChannel(self.sns)

    @cached_property
    def metered_sms(self) -> MeteredSender:
        """SMS sent outside the timers (answers, waiting-room texts), metered as the dispatcher meters its own;
        on WhatsApp too (the answers to a patient who wrote on WhatsApp)."""
        from chalicelib.meter.sender import MeteredSender

        return MeteredSender(self.clock, self.usage, self.sms, whatsapp=self.whatsapp, messenger=self.messenger)

    @cached_property
    def whatsapp(self) -> WhatsAppChannel:
        """WhatsApp through AWS End User Messaging Social (the local stack emulates it: infra/local)."""
        from chalicelib.send.whatsapp import WhatsAppChannel

        return WhatsAppChannel(lambda: self._client("socialmessaging"))

    @cached_property
    def messenger_api(self) -> MessengerApi:
        """Meta's Send API; the tests and the local stack assign `infra.local.messenger_fake` before a send."""
        from chalicelib.send.messenger import GraphApi

        return GraphApi()

    @cached_property
    def messenger_credentials(self) -> MessengerCredentials:
        """The clinics' Page tokens, app secrets and verify tokens in SSM, read through one cache."""
        from chalicelib.clinics.messenger_credentials import MessengerCredentials

        return MessengerCredentials(self.ssm, self.settings.parameter_path)

    @cached_property
    def messenger(self) -> MessengerChannel:
        """Messenger by the clinic's Page, its access token read from SSM when a message goes (cached)."""
        from chalicelib.send.messenger import MessengerChannel

        return MessengerChannel(lambda: self.messenger_api, self.messenger_credentials.page_token)

    @cached_property
    def messenger_webhook(self) -> MessengerWebhook:
        from chalicelib.replies.messenger import MessengerWebhook

        return MessengerWebhook(self.clock, self.messenger_credentials, self.link_signer.key, self.replies)

    @cached_property
    def email_feedback(self) -> EmailFeedback:
        from chalicelib.fire.receipts import record_receipt
        from chalicelib.send.email_feedback import EmailFeedback

        return EmailFeedback(self.clock, record_receipt, self.dispatcher.fall_back)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        from chalicelib.fire.appointment_messages import AppointmentMessages
        from chalicelib.fire.dispatch import Dispatcher
        from chalicelib.send.email import EmailChannel
        from chalicelib.send.email_feedback import undeliverable

        owners = BuiltOnFirstUse(
            {
                "appointment": lambda: AppointmentMessages(self.link_signer, self.settings.ses_sender),
                "regimen": self._regimen_messages,
            }
        )
        email = EmailChannel(
            self.ses,
            self.settings.ses_sender,
            configuration_set=self.settings.ses_configuration_set,
            undeliverable=undeliverable,
        )
        return Dispatcher(
            self.clock,
            self.sms,
            email,
            owners,
            self.usage,
            self.reminder_timers,
            self.whatsapp,
            self.messenger,
            notices=self._waiting_notices,
        )

    def _waiting_notices(self) -> WaitingNotices:
        """The waiting room's texts as the dispatcher's notices (their fallback words them again)."""
        from chalicelib.waiting.again import WaitingNotices

        return WaitingNotices(self.clock)

    def _regimen_messages(self) -> RegimenMessages:
        from chalicelib.regimens.doses import RegimenMessages

        return RegimenMessages(self.link_signer, self.settings.public_url)

    @cached_property
    def usage(self) -> UsageMeter:
        from chalicelib.meter.meter import UsageMeter

        return UsageMeter(self.settings.prices, self.settings.default_spend_cap_usd)

    @cached_property
    def appointments(self) -> AppointmentService:
        from chalicelib.appointments.service import AppointmentService

        return AppointmentService(self.clock, self.reminder_timers, self.dispatcher)

    @cached_property
    def link_signer(self) -> LinkSigner:
        from chalicelib.links.service import LinkSigner

        return LinkSigner(self.ssm, self.settings.link_key_parameter, self.settings.public_url)

    @cached_property
    def patient_links(self) -> PatientLinks:
        from chalicelib.links.service import PatientLinks

        return PatientLinks(self.clock, self.link_signer, self.appointments, self.visits)

    @cached_property
    def clinic_settings(self) -> ClinicSettingsService:
        from chalicelib.clinics.settings_service import ClinicSettingsService

        return ClinicSettingsService(self.clock, self.appointments, self.clinic_replans)

    @cached_property
    def fire_batch(self) -> FireBatch:
        """Reminder timers from the fire queue, sent together; a failed one delayed on the same queue."""
        from chalicelib.fire.queue import FireBatch
        from chalicelib.queueing.sqs import SqsJobQueue

        return FireBatch(lambda: self.dispatcher, lambda: SqsJobQueue(self.sqs, self.settings.fire_queue_name))

    @cached_property
    def clinic_replans(self) -> ClinicReplans:
        """Re-plans after a settings change, one queued job per page; the queue adapter is chalicelib.queueing."""
        from chalicelib.clinics.replan import ClinicReplans
        from chalicelib.queueing.sqs import SqsJobQueue

        return ClinicReplans(self.clock, self.appointments, SqsJobQueue(self.sqs, self.settings.replan_queue_name))

    @cached_property
    def patients(self) -> PatientService:
        from chalicelib.patients.service import PatientService

        return PatientService(self.clock, self.appointments)

    @cached_property
    def replies(self) -> SmsReplies:
        from chalicelib.replies.inbound import SmsReplies

        return SmsReplies(self.clock, self.metered_sms, self.appointments, self.regimen_doses, self.visits, self.inbox)

    @cached_property
    def inbox(self) -> Inbox:
        """The clinics' inboxes: the staff's answers on the patient's channel and the notice email, all metered."""
        from chalicelib.inbox.service import Inbox
        from chalicelib.meter.sender import MeteredSender
        from chalicelib.send.email import EmailChannel
        from chalicelib.send.email_feedback import undeliverable

        email = EmailChannel(
            self.ses,
            self.settings.ses_sender,
            configuration_set=self.settings.ses_configuration_set,
            undeliverable=undeliverable,
        )
        sender = MeteredSender(
            self.clock, self.usage, self.sms, email=email, whatsapp=self.whatsapp, messenger=self.messenger
        )
        return Inbox(self.clock, sender, self.settings.public_url or None)

    @cached_property
    def whatsapp_events(self) -> WhatsAppEvents:
        from chalicelib.replies.whatsapp import WhatsAppEvents

        return WhatsAppEvents(self.clock, self.replies, self.dispatcher.fall_back)

    @cached_property
    def clinics(self) -> ClinicService:
        from chalicelib.clinics.secrets import ClinicSecrets
        from chalicelib.clinics.service import ClinicService

        return ClinicService(self.clock, ClinicSecrets(self.ssm, self.settings.parameter_path))

    @cached_property
    def clinic_access(self) -> ClinicAccess:
        from chalicelib.clinics.access import ClinicAccess

        return ClinicAccess(self.clock)

    @cached_property
    def waiting(self) -> WaitingService:
        from chalicelib.waiting.service import WaitingService
        from chalicelib.waiting.watch import WatchTimers

        watch = WatchTimers(self.reminder_timers)
        return WaitingService(self.clock, watch, lambda: self.dispatcher)

    @cached_property
    def board(self) -> Board:
        from chalicelib.board.service import Board

        return Board(self.clock, self.waiting)

    @cached_property
    def audit(self) -> AuditTrail:
        from chalicelib.audit import AuditTrail

        return AuditTrail(self.clock)

    @cached_property
    def forms(self) -> Forms:
        from chalicelib.forms.service import Forms

        return Forms(self.clock)

    @cached_property
    def visits(self) -> VisitService:
        from chalicelib.visits.service import VisitService

        return VisitService(self.clock, self.reminder_timers, self.waiting)

    @cached_property
    def reconciler(self) -> ReminderReconciler:
        from chalicelib.reconcile.reminders import ReminderReconciler

        return ReminderReconciler(self.clock, self.reminder_timers, self.regimen_timers, self.spend_cap_release)

    @cached_property
    def spend_cap_release(self) -> SpendCapRelease:
        from chalicelib.meter.release import SpendCapRelease

        return SpendCapRelease(self.clock, self.reminder_timers, self.usage)

    @cached_property
    def booking_lookups(self) -> BookingLookups:
        """The booking tools' own APIs (Acuity, Square); tests assign fakes before the first webhook."""
        from chalicelib.intake.lookups import BookingLookups, HttpAcuityClient, HttpSquareCustomers

        return BookingLookups(HttpAcuityClient(), HttpSquareCustomers())

    @cached_property
    def intake(self) -> WebhookIntake:
        from chalicelib.intake.credentials import WebhookCredentials
        from chalicelib.intake.service import WebhookIntake

        credentials = WebhookCredentials(self.ssm, self.settings.parameter_path)
        return WebhookIntake(self.clock, self.appointments, credentials, self.booking_lookups, self.transport_clock)

    @cached_property
    def regimens(self) -> RegimenService:
        from chalicelib.regimens.service import RegimenService

        return RegimenService(self.clock, self.regimen_timers)

    @cached_property
    def regimen_doses(self) -> RegimenDoses:
        from chalicelib.regimens.doses import RegimenDoses

        return RegimenDoses(self.clock, self.reminder_timers, self.dispatcher, self.regimen_timers)

    @cached_property
    def dose_pages(self) -> DosePages:
        from chalicelib.regimens.dose_pages import DosePages

        return DosePages(self.clock, self.link_signer, self.regimen_doses)

    @cached_property
    def details_pages(self) -> DetailsPages:
        """The patient's "update my details" page; its codes go by SMS or email through the one metered send."""
        from chalicelib.links.details_page import DetailsPages
        from chalicelib.meter.sender import MeteredSender
        from chalicelib.send.email import EmailChannel
        from chalicelib.send.email_feedback import undeliverable

        email = EmailChannel(
            self.ses,
            self.settings.ses_sender,
            configuration_set=self.settings.ses_configuration_set,
            undeliverable=undeliverable,
        )
        sender = MeteredSender(self.clock, self.usage, self.sms, email)
        return DetailsPages(self.clock, self.link_signer, sender, self.patients)

    @cached_property
    def form_pages(self) -> FormPages:
        from chalicelib.links.form_page import FormPages

        return FormPages(self.clock, self.link_signer)


_services: Services | None = None


def services() -> Services:
    global _services
    if _services is None:
        _services = Services(Settings.from_env(), SystemClock())
    return _services


def configure(
    settings: Settings | None = None,
    clock: Clock | None = None,
    session: boto3.Session | None = None,
    transport_clock: Clock | None = None,
) -> Services:
    """Replaces the process's services, e.g. with the local stack's simulated clock (the transport clock stays
    the system clock unless given)."""
    global _services
    _services = Services(settings or Settings.from_env(), clock or SystemClock(), session, transport_clock)
    return _services


def reset() -> None:
    global _services
    _services = None
