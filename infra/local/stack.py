"""The embedded local stack: all of CareCue on one machine with no AWS account.

moto's server plays AWS on 127.0.0.1; the Chalice app is served in process with the `local` stage's settings;
the Scheduler emulator fires the timers the app armed, on a simulated clock that follows real time unless
it is moved (`POST /_local/clock`); queued background jobs (re-plans) run after each request and on the
tick; webhook signatures are still checked for freshness against real time, as the booking tools sign with it.
The `reconcile` function runs whenever the clock passes a whole UTC hour, as its rate(1 hour) rule runs it on AWS
(at most `MAX_RECONCILES_PER_MOVE` times per move of the clock: see `_reconcile_hours`).
Local-only routes are added to the app object here, never in `app.py`, and none of this ships in the Lambda
package.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.core.clock import SystemClock, iso_utc
from chalicelib.edge.gateway import API_BURST_LIMIT, API_RATE_LIMIT
from infra.local import allocator
from infra.local.aws_server import AwsServer, Gate
from infra.local.clock import SimulatedClock
from infra.local.faults import FaultSwitch, from_the_app, mark_app_requests
from infra.local.journal import JournalClosed, StackRecord
from infra.local.outbox import Outbox
from infra.local.persistence import DataFolder, Snapshot, Snapshotter, dumps, moto_state, restore_moto
from infra.local.queue_worker import QueueWorker
from infra.local.scheduler_emulator import Firing, SchedulerEmulator
from infra.local.sns_events import sns_lambda_event

PROJECT_DIR = Path(__file__).resolve().parents[2]
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
HOST = "127.0.0.1"  # never 0.0.0.0: the local stack has fake credentials and real patient-shaped data
# How long the stop waits for a request in flight; firings and jobs are interrupted between two, so one
# firing (a fraction of a second) is what it usually waits for.
STOP_WAIT_SECONDS = 3.0
SAVE_WAIT_SECONDS = 10.0
# Routes that must not count as work: waiting for the snapshot inside the gate would wait for itself.
OUTSIDE_THE_GATE = frozenset({"/_local/state"})
LISTEN_BACKLOG = 256
# A move of the clock by a day would otherwise run the reconciler 24 times; it is idempotent and each run looks at
# the whole clinic, so only the latest few hours passed are run (their firings still happen in order between them).
MAX_RECONCILES_PER_MOVE = 3
# The scheduler tick's spacing: at least the tick's period, else this many times what the last tick took, at most
# MAX_TICK_SECONDS (well within the minute Scheduler allows itself).
TICK_SPACING_FACTOR = 4.0
MAX_TICK_SECONDS = 20.0
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Addresses:
    api: str
    aws: str


class LocalStack:
    def __init__(
        self,
        api_port: int,
        aws_port: int,
        clock: SimulatedClock,
        tick_seconds: float | None = 1.0,
        data: DataFolder | None = None,
        saved: Snapshot | None = None,
        throttle: tuple[float, int] = (API_RATE_LIMIT, API_BURST_LIMIT),
        faults: FaultSwitch | None = None,
    ) -> None:
        """`data`: the folder snapshots go to (none: nothing is kept); `saved`: the snapshot to start from;
        `faults`: the fault switch (infra/local/faults.py), none when no fault is asked for."""
        self.clock = clock
        self.faults = faults
        self._throttle = throttle  # API Gateway's stage throttle: requests a second, burst (as the template sets)
        self._data = data
        self._saved = saved
        self.snapshots: Snapshotter | None = None
        self.addresses = Addresses(f"http://{HOST}:{api_port}", f"http://{HOST}:{aws_port}")
        self._api_port = api_port
        self._aws_port = aws_port
        self._tick_seconds = tick_seconds
        self._fire_lock = threading.Lock()
        self._invocations = threading.RLock()  # one Lambda invocation at a time: see _run_queued_jobs
        self._jobs_lock = threading.Lock()
        self._stopping = threading.Event()
        # Every request, firing and job runs as work of this gate; a snapshot and the stop wait for a quiet moment.
        self._gate = Gate()
        self._threads: list[threading.Thread] = []
        self._moto: Any = None
        self._server: Any = None
        # The latest hour boundary the reconciler ran for. Not in the snapshot: after a restart hours count from the
        # restored clock, which is where the stack stopped.
        self._reconciled_hour = _floor_hour(clock.now())
        # What the journal has of the stack's own state (infra/local/journal.py): the outbox's length and the
        # clock's settings last journaled.
        self._record_lock = threading.Lock()
        self._outbox_journaled = 0
        self._clock_journaled: tuple[Any, ...] | None = None
        self.replayed: Any = None  # what the start replayed of the journal (aws_server.Replay)

    def start(self) -> None:
        from chalicelib.settings import point_aws_at

        allocator.limit_arenas()  # before the stack starts a thread: infra/local/allocator.py

        # Both servers bind with SO_REUSEADDR; the check does too, so only a program listening there counts.
        _require_free_port(self._aws_port, "AWS_PORT")
        _require_free_port(self._api_port, "PORT")

        # Before any client exists: every AWS call of this process goes to moto.
        point_aws_at(self.addresses.aws)
        os.environ.setdefault("CARECUE_PUBLIC_URL", self.addresses.api)  # patient links point at this stack

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call drowns the app's own
        if self._saved is not None:
            restore_moto(self._saved.moto)  # before the first request: moto answers from the restored state
        journal = self._data.journal if self._data is not None else None
        self._moto = AwsServer(HOST, self._aws_port, self._gate, self._changed, self.faults, journal)
        try:
            self._moto.start()
        except OSError:
            raise PortInUse(f"port {self._aws_port} on {HOST} is in use; choose another with AWS_PORT=...") from None
        self._start_app()
        if self._data is not None:
            # The allocator's free memory given back after each snapshot, the largest transient allocation here.
            self.snapshots = Snapshotter(self._data, self._capture, after_write=allocator.trim)
            self.snapshots.start()
            # The first one holds what provisioning created (the link signing key...) and compacts the journal
            # this start replayed.
            self.snapshots.changed()
            self._record_stack(force=True)  # the start's clock: a journal with no snapshot yet begins there
        if self._tick_seconds:
            self._spawn(self._tick, "carecue-scheduler")

    def _start_app(self) -> None:
        import boto3
        from chalice.cli.factory import CLIFactory
        from chalice.local import LambdaContext, create_local_server

        from chalicelib.composition import configure
        from chalicelib.settings import Settings
        from infra.local.gateway import TokenBucket, answer_in_envelope
        from infra.local.moto_memory import bound as bound_moto
        from infra.local.moto_memory import stop_tracking_instances
        from infra.local.moto_queries import scheduler_writes
        from infra.local.provision import provision
        from infra.local.routes import add_local_routes

        factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
        config = factory.create_config_obj(chalice_stage_name="local")
        app = factory.load_chalice_app(config.environment_variables)
        settings = Settings.from_env()
        bound_moto(settings.region)  # before the first request: infra/local/moto_memory.py
        if self._data is not None and self._data.to_replay:
            # What was answered since the snapshot, into the same (bounded) moto, before anything else asks it.
            self.replayed = self._moto.replay(self._data.to_replay)
            self._data.to_replay = []
        session = boto3.Session(region_name=settings.region)
        self.outbox = Outbox(self.clock)
        self.outbox.attach(session)
        if self.faults is not None:
            mark_app_requests(session)  # before any client is made: clients copy the session's hooks
        if self._saved is not None:
            self.outbox.restore(self._saved.outbox)
            self._outbox_journaled = len(self._saved.outbox)
        from infra.local.whatsapp_emulator import WhatsAppEmulator, store_lookups

        self.whatsapp = WhatsAppEmulator(self.clock, *store_lookups())  # moto has no End User Messaging Social
        self.whatsapp.attach(session)
        from infra.local.sms_refusals import SmsRefusals

        self.sms_refusals = SmsRefusals()  # moto takes every number: SNS's refusal for good, on demand
        self.sms_refusals.attach(session.events)
        from infra.local.ses_events import SesEventEmulator

        self.ses_events = SesEventEmulator(self.clock)  # moto publishes no configuration-set events
        self.ses_events.attach(session)
        # The simulated clock is the app's "now"; signature freshness keeps the real clock (composition docstring).
        # Provisioned first, as the tests do: provision binds the tables to a connection of their own, and the
        # composition then binds them to the app's session (its hooks, the fault switch's mark, included).
        provision(settings, session)
        stop_tracking_instances()  # any moto model class the provisioning loaded besides CareCue's services
        services = configure(settings, self.clock, session, transport_clock=SystemClock())
        from infra.local.messenger_fake import FakeMessengerApi

        services.messenger_api = FakeMessengerApi(self.clock, self.outbox)  # Meta's Send API has no emulator
        self._services = services
        self._ssm = session.client("ssm", region_name=settings.region)
        self._stage = settings.stage
        self.publish()

        fire_context = LambdaContext(function_name=f"{settings.resource_prefix}-fire", memory_size=256)
        fire_batch_context = LambdaContext(function_name=f"{settings.resource_prefix}-fire_batch", memory_size=256)
        self._inbound_context = LambdaContext(function_name=f"{settings.resource_prefix}-inbound_sms", memory_size=256)
        self._whatsapp_context = LambdaContext(
            function_name=f"{settings.resource_prefix}-whatsapp_events", memory_size=256
        )
        self._whatsapp_topic = f"arn:aws:sns:{settings.region}:123456789012:{settings.resource_prefix}-whatsapp-events"
        self._email_context = LambdaContext(function_name=f"{settings.resource_prefix}-email_feedback", memory_size=256)
        self._email_topic = f"arn:aws:sns:{settings.region}:123456789012:{settings.resource_prefix}-email-feedback"

        def invoke(target_arn: str, event: Any) -> Any:
            if target_arn == settings.fire_queue_arn:
                with self._invocations:
                    return _fire_queued(event, fire_batch_context)
            if target_arn != settings.fire_function_arn:
                raise LookupError(f"no local function for {target_arn}")
            with self._invocations:
                return _fire(event, fire_context)

        self.scheduler = SchedulerEmulator(
            services.scheduler,
            settings.schedule_group,
            invoke,
            sqs_client=services.sqs,  # the reminders' dead-letter queue, on moto
            now=self.clock.now,
            interrupted=self._stopping.is_set,
            writes=scheduler_writes,  # lists again after a firing only if someone wrote (moto_queries.py)
        )
        self._reconcile_context = LambdaContext(function_name=f"{settings.resource_prefix}-reconcile", memory_size=256)
        self._region = settings.region
        self._reconcile_rule = (
            f"arn:aws:events:{settings.region}:123456789012:rule/{settings.resource_prefix}-reconcile"
        )
        if self._saved is not None:
            self.scheduler.restore_memory(self._saved.scheduler)
        replan_context = LambdaContext(function_name=f"{settings.resource_prefix}-replan", memory_size=256)
        self.replan_jobs = QueueWorker(
            services.sqs,
            settings.replan_queue_name,
            lambda event: _replan(event, replan_context),
            interrupted=self._stopping.is_set,
        )
        add_local_routes(app, self)
        app.register_middleware(self._run_queued_jobs, "http")
        self._server = create_local_server(app, config, HOST, self._api_port)
        # socketserver listens with a backlog of 5: a burst of clients (a clinic system retrying, a load test)
        # would find its connections reset before a thread takes them. API Gateway queues them; so does this.
        self._server.server.socket.listen(LISTEN_BACKLOG)
        # API Gateway's own refusals, as the AWS template words them, and its throttle
        answer_in_envelope(self._server, app, config, TokenBucket(*self._throttle))
        # The HTTP server's own loop: LocalDevServer.serve_forever would print a banner of its own over ours.
        self._spawn(self._server.server.serve_forever, "carecue-api")

    def advance_to(self, moment: datetime) -> list[Firing]:
        """Moves the clock to `moment`, firing everything due on the way, each at its own instant."""
        with self._fire_lock:
            if moment < self.clock.now():
                raise ValueError(
                    f"the clock is at {self.clock.now().isoformat()}; it cannot go back to {moment.isoformat()}"
                )

            def move_clock(instant: datetime) -> None:
                if instant > self.clock.now():
                    self.clock.set(instant)

            firings = self._fire_and_reconcile(moment, move_clock)
            if not self._stopping.is_set():  # stopped half way: the clock stays at the last firing
                move_clock(moment)
            self.publish()
            return firings

    def _fire_and_reconcile(self, moment: datetime, move_clock: Any) -> list[Firing]:
        """Fires what is due up to `moment`, stopping at each hour boundary passed to run the reconciler there."""
        firings: list[Firing] = []
        for boundary in self._reconcile_hours(moment):
            firings += self.scheduler.fire_due(boundary, on_time=move_clock)
            if self._stopping.is_set():
                return firings
            if move_clock is not None:
                move_clock(boundary)
            self._reconcile(boundary)
        firings += self.scheduler.fire_due(moment, on_time=move_clock)
        return firings

    def _reconcile_hours(self, moment: datetime) -> list[datetime]:
        """The hour boundaries after the last reconciled one up to `moment`: the latest MAX_RECONCILES_PER_MOVE."""
        last = _floor_hour(moment)
        count = int((last - self._reconciled_hour) / _HOUR)
        return [last - n * _HOUR for n in reversed(range(min(count, MAX_RECONCILES_PER_MOVE)))]

    def _reconcile(self, hour: datetime) -> None:
        """The `reconcile` function with the event its EventBridge rule sends, one invocation at a time."""
        self._reconciled_hour = hour
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": iso_utc(hour),
            "region": self._region,
            "resources": [self._reconcile_rule],
            "detail": {},
        }
        with self._invocations:
            try:
                _reconcile(event, self._reconcile_context)
            # On AWS a failed run is logged and the next hour's tries again; the stack goes on firing meanwhile.
            except Exception as failure:
                logging.getLogger(__name__).warning(
                    "local stack: reconcile failed hour=%s error=%s",
                    iso_utc(hour),
                    type(failure).__name__,
                    exc_info=True,
                )

    def publish(self) -> None:
        """Tells the admin command line where this stack serves and what its clock says
        (`chalicelib.admin.local_stack`): at start and after every move of the clock."""
        from chalicelib.admin.local_stack import PublishedStack, parameter_name

        published = PublishedStack(self.addresses.api, self.clock.now(), self.clock.frozen, datetime.now(UTC))
        self._ssm.put_parameter(
            Name=parameter_name(self._stage), Value=published.to_json(), Type="String", Overwrite=True
        )

    def _run_queued_jobs(self, event: Any, get_response: Any) -> Any:
        """After every request, the jobs it queued run before its answer leaves: on AWS the SQS event source
        starts them within moments, and a caller reading the clinic next should not race them here."""
        if event.path in OUTSIDE_THE_GATE:
            return get_response(event)
        # One invocation at a time, as one Lambda instance handles one event at a time: Chalice keeps the request
        # in a global (`app.current_request`) that concurrent threads would overwrite, and moto's DynamoDB is not
        # safe under concurrent transactions (infra/local/aws_server.py). Timer firings take the same lock.
        # The stack's own /_local/ routes are not invocations: what they fire or inject takes the lock itself.
        invocation = self._invocations if not event.path.startswith("/_local/") else contextlib.nullcontext()
        with self._gate.work(), invocation:
            try:
                if event.path.startswith("/_local/"):
                    return get_response(event)
                with from_the_app():
                    return get_response(event)
            finally:
                self.run_jobs()
                self.deliver_whatsapp_events()  # the statuses of what the request sent, as the WABA's topic would
                self.deliver_email_events()  # SES's events of the emails it sent, as the configuration set's topic
                self.deliver_messenger_receipts()  # Meta's message_deliveries of what it sent by Messenger
                self._record_stack()  # journaled and synced before the answer leaves

    def run_jobs(self) -> int:
        with self._jobs_lock:
            return self.replan_jobs.drain()

    def fire_due_now(self) -> list[Firing]:
        with self._fire_lock:
            return self._fire_and_reconcile(self.clock.now(), None)

    def saved_state(self, wait: bool) -> dict[str, Any]:
        """Where the state is kept and what its snapshots cost; with `wait`, once every change so far is saved."""
        if self.snapshots is None:
            return {"data": None}
        saved = self.snapshots.wait_saved(SAVE_WAIT_SECONDS) if wait else self.snapshots.wait_saved(0)
        journal = self._data.journal if self._data is not None else None
        stats = self.snapshots.stats
        return {
            "data": str(self.snapshots.folder),
            "saved": saved,
            "snapshots": stats.taken,
            "last_snapshot_bytes": stats.last_bytes,
            "last_snapshot_ms": round(stats.last_total_ms, 1),
            "last_requests_held_ms": round(stats.last_capture_ms, 1),
            "mean_snapshot_ms": round(stats.total_ms / stats.taken, 1) if stats.taken else None,
            # Since the last snapshot: what a start would replay (infra/local/journal.py)
            "journal_records": journal.records if journal is not None else None,
            "journal_bytes": journal.bytes if journal is not None else None,
        }

    def pending(self) -> list[dict[str, str]]:
        """Every armed timer that has not fired yet, earliest first."""
        return [{"schedule": name, "at": iso_utc(at)} for at, name in self.scheduler.due(_END_OF_TIME, per_schedule=1)]

    def deliver_whatsapp_events(self) -> int:
        """Runs the whatsapp_events function on every event the WhatsApp emulator has queued (a patient's
        message, statuses), as SNS delivers the WABA's event destination; an answer's own statuses follow, up to
        a bound (an answer's statuses cause no answer, so the second round ends it)."""
        from infra.local.whatsapp_emulator import lambda_event

        delivered = 0
        # As deliver_email_events: the invocation lock (re-entrant) is the only lock taken, and outside the loop.
        # A lock of its own taken first would deadlock against a request, which holds the invocation lock when
        # its own hand-over comes here, while the tick's hand-over held this one and waited for that.
        with self._invocations:
            for _ in range(5):
                events = self.whatsapp.take_events()
                if not events:
                    break
                for message in events:
                    _whatsapp_events(
                        lambda_event(message, self._whatsapp_topic, self.clock.now()), self._whatsapp_context
                    )
                    delivered += 1
        return delivered

    def deliver_email_events(self) -> int:
        """Runs the email_feedback function on every SES event the emulator queued (infra/local/ses_events.py), as
        SNS delivers the configuration set's event destination. A fallback an event causes may send an email whose
        own events follow, up to a bound."""
        from infra.local.ses_events import lambda_event

        delivered = 0
        # Taken and handled inside one invocation lock (re-entrant: a request's own hand-over already holds it), so
        # the tick's hand-over never races a request's or a timer's firing: an event is handled before anything
        # that comes after the request that caused it (a delivery window firing must see its bounce).
        with self._invocations:
            for _ in range(5):
                events = self.ses_events.take_events()
                if not events:
                    break
                for message in events:
                    _email_feedback(lambda_event(message, self._email_topic, self.clock.now()), self._email_context)
                    delivered += 1
        return delivered

    def deliver_messenger_receipts(self) -> int:
        """Posts the Messenger fake's delivery receipts to the app's webhook, as Meta would (messenger_fake.py)."""
        from infra.local.messenger_fake import FakeMessengerApi, deliver_receipts

        fake = self._services.messenger_api
        if not isinstance(fake, FakeMessengerApi):
            return 0
        with self._invocations:  # as deliver_email_events: taken and handled in one invocation lock
            receipts = fake.take_receipts()
            if not receipts:
                return 0
            with from_the_app():
                return deliver_receipts(receipts, self._services)

    def inject_whatsapp(self, phone_number_id: str, sender: str, body: str) -> str:
        """A patient writes on WhatsApp to the clinic's number: the event AWS would publish, handled at once."""
        message_id = self.whatsapp.inbound(phone_number_id, sender, body)
        self.deliver_whatsapp_events()
        return message_id

    def inject_inbound_sms(self, sender: str, to: str | None, body: str) -> str:
        """Runs the inbound-SMS handler with the SNS event End User Messaging would cause; returns the message id."""
        message_id = str(uuid.uuid4())
        with self._invocations:
            _inbound_sms(sns_event(sender, to, body, message_id, self.clock.now()), self._inbound_context)
        return message_id

    def stop(self) -> None:
        """Stops within seconds whatever the state's size: work in flight is interrupted between two firings
        or two jobs (the rest runs after the next start) and waited for, then the journal is synced and closed
        and the servers close. No snapshot is written: the journal already holds every answered change, and
        the next start compacts it (a snapshot being written in the background is abandoned, harmlessly)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()  # no new requests; those in flight finish
        if self.snapshots is not None:
            self.snapshots.stop()
        # Only work in flight is waited for, never a snapshot's capture (which holds no work in flight).
        idle = self._gate.idle(timeout=STOP_WAIT_SECONDS)
        if self._data is not None and self._data.journal is not None:
            if idle:  # else a firing still holds the emulator (a call in botocore's retries): it is not waited for
                with contextlib.suppress(Exception):
                    self._record_stack()  # what the last firing moved (it was interrupted between two)
            self._data.journal.close()  # any later AWS request or answer is refused, never answered unjournaled
        if self._moto is not None:
            self._moto.stop()
        for thread in self._threads:
            thread.join(timeout=STOP_WAIT_SECONDS)

    def _record_stack(self, force: bool = False) -> None:
        """Journals what the stack itself changed since the last record (the clock's settings, the outbox's new
        messages, the Scheduler emulator's memory) and syncs the journal: called before each answer of the HTTP
        front, after each tick, and before a snapshot rotates the journal."""
        journal = self._data.journal if self._data is not None else None
        if journal is None:
            return
        with self._record_lock:
            state = self.clock.state()
            settings = (state["frozen"], state["offset_seconds"], state["now"] if state["frozen"] else None)
            clock = state if force or settings != self._clock_journaled else None
            messages, count = self.outbox.since(self._outbox_journaled)
            scheduler = self.scheduler.memory_changes()
            if clock is not None or messages or scheduler is not None:
                journal.append(StackRecord(clock, messages, scheduler))
                self._clock_journaled, self._outbox_journaled = settings, count
            journal.sync()

    def _changed(self) -> None:
        """An AWS request may have changed moto's state: a snapshot follows."""
        if self.snapshots is not None:
            self.snapshots.changed()

    def _capture(self) -> tuple[bytes, int]:
        """A snapshot at the next quiet moment (between requests, never inside one), and the last journal
        segment it covers: the journal moves to a new one at that moment."""
        with self._gate.quiet():
            covered = 0
            if self._data is not None and self._data.journal is not None:
                self._record_stack()  # so that the next record holds only what comes after the snapshot
                covered = self._data.journal.rotate()
            state = Snapshot(moto_state(), self.scheduler.memory(), self.outbox.messages(), self.clock.state())
            state.journal_segment = covered
            return dumps(state), covered

    def _tick(self) -> None:
        # Real Scheduler fires within a minute of the due time; a one-second poll is well inside that. Each tick
        # lists every schedule (200 requests at 10,000 bookings), so the next one waits TICK_SPACING_FACTOR times
        # as long as the last took, at most MAX_TICK_SECONDS: on a large state the tick takes a bounded share of
        # the time, as the snapshots do (infra/local/persistence.py).
        assert self._tick_seconds is not None  # noqa: S101 - started only with one
        wait = self._tick_seconds
        while not self._stopping.wait(wait):
            started = time.perf_counter()
            with self._gate.work():
                self.fire_due_now()
                self.run_jobs()  # a job whose visibility timeout ran out is tried again, as SQS would
                self.deliver_whatsapp_events()
                self.deliver_email_events()
                self.deliver_messenger_receipts()
                with contextlib.suppress(JournalClosed):  # stopping: the process ends, as after a kill
                    self._record_stack()
            spent = time.perf_counter() - started
            wait = min(MAX_TICK_SECONDS, max(self._tick_seconds, TICK_SPACING_FACTOR * spent))

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)


class PortInUse(RuntimeError):
    pass


def _require_free_port(port: int, variable: str) -> None:
    """Fails if another program listens on the port. With SO_REUSEADDR, as both servers bind (they set
    allow_reuse_address), so the TIME_WAIT sockets a stack stopped a moment ago leaves behind do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise PortInUse(f"port {port} on {HOST} is in use; choose another with {variable}=...") from None


def _fire(event: Any, context: Any) -> Any:
    """Invokes the fire function as Lambda would, with the event as a JSON round trip (as Scheduler sends it)."""
    handler = importlib.import_module("app").fire
    with from_the_app():
        return handler(json.loads(json.dumps(event)), context)


def _fire_queued(event: Any, context: Any) -> Any:
    """A reminder's timer that Scheduler queues: the fire queue and its event source mapping stood in for by
    handing it to the fire_batch function's run as a batch of one (`FireBatch.answers`), its answer returned and
    a failed send's exception raised, so that the Scheduler emulator's retries, on the stack's clock, stand in for
    the queue's redelivery, which follows the same back-off (chalicelib/fire/queue.py). moto's SQS would delay a
    retry by real seconds, which the simulated clock does not move."""
    from chalicelib.fire.queue import QueuedTimer

    app = importlib.import_module("app")
    with from_the_app():
        timer = QueuedTimer(f"local-{uuid.uuid4()}", "", json.dumps(event), 1)
        (answer,) = app.services().fire_batch.answers([timer], app._timer_handlers())
    if isinstance(answer, Exception):
        raise answer
    return answer


def _reconcile(event: Any, context: Any) -> Any:
    with from_the_app():
        return importlib.import_module("app").reconcile(event, context)


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _replan(event: Any, context: Any) -> Any:
    with from_the_app():
        return importlib.import_module("app").replan(event, context)


def _whatsapp_events(event: Any, context: Any) -> Any:
    with from_the_app():
        return importlib.import_module("app").whatsapp_events(event, context)


def _email_feedback(event: Any, context: Any) -> Any:
    with from_the_app():
        return importlib.import_module("app").email_feedback(event, context)


def _inbound_sms(event: Any, context: Any) -> Any:
    with from_the_app():
        return importlib.import_module("app").inbound_sms(event, context)


def sns_event(sender: str, to: str | None, body: str, message_id: str, now: datetime) -> dict[str, Any]:
    """The Lambda event SNS delivers for one End User Messaging inbound SMS (the shape of its two-way SMS)."""
    message = {
        "originationNumber": sender,
        "destinationNumber": to or "+18005550199",
        "messageKeyword": "KEYWORD",
        "messageBody": body,
        "inboundMessageId": message_id,
        "previousPublishedMessageId": None,
    }
    topic = "arn:aws:sns:us-east-1:123456789012:carecue-inbound-sms"
    return sns_lambda_event(message, topic, now, message_id=message_id)
