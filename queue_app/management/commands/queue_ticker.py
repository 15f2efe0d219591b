import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from queue_app.ticker import run_ticker


class Command(BaseCommand):
    help = "Admit waiting users every QUEUE_ADMIT_INTERVAL_SECONDS until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="Seconds between ticks.")

    def handle(self, *args, interval=None, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        every = interval or settings.QUEUE_ADMIT_INTERVAL_SECONDS
        self.stdout.write(f"Admission ticker: every {every} s")
        ticks = run_ticker(stop=stop, interval=every)
        self.stdout.write(f"Admission ticker stopped after {ticks} ticks")
