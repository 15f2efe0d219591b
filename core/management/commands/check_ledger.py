"""`manage.py check_ledger`: balance == sum(ledger) for every wallet, and every other
integrity check an app contributes (core.integrity)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.integrity import integrity_checks


class Command(BaseCommand):
    help = "Verify every wallet's balance against its ledger, and the other books; exits non-zero on any problem."

    def handle(self, *args, **options) -> None:
        checks = integrity_checks()
        problems = []
        for check in checks:
            found = check()
            problems.extend(found)
            if options["verbosity"] >= 2:
                self.stdout.write(f"{check.__name__}: {len(found)} problem(s)")
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} ledger problem(s) found by {len(checks)} check(s).")
        self.stdout.write(self.style.SUCCESS(f"Ledger consistent ({len(checks)} checks)."))
