"""Writes to wallets: card charges, payments from the balance, refunds.

Every change of a balance goes through ``_post`` under the wallet's row lock and
writes one ledger row with the resulting ``balance_after``.

Locks follow the global order of ``core.locking`` (charge, then reservation, then
wallet): nothing in this module takes a charge or a reservation lock after the
wallet lock, and no lock is held while the gateway is asked.

``wallet_charge`` runs in three steps so that the card gateway is never called
inside a transaction or while any row lock is held:

1. under the wallet lock: check ``BALANCE_MAX`` (counting charges still
   PENDING) and commit a PENDING ``Charge``;
2. no transaction: ask the gateway;
3. under the charge lock, then the wallet lock: re-check PENDING, credit and
   mark SUCCEEDED, or mark DECLINED. A timeout skips this step; the charge stays
   PENDING and ``charge_reconcile_pending`` settles it later, exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core.fields import fit
from wallet import gateway as gw
from wallet import selectors
from wallet.exceptions import BalanceLimitExceeded, ChargeAmountOutOfRange, GatewayDeclined, InsufficientBalance
from wallet.models import Charge, LedgerEntry, Wallet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChargeResult:
    charge: Charge
    balance: int


@dataclass
class ReconcileReport:
    checked: int = 0
    succeeded: int = 0
    declined: int = 0
    still_pending: int = 0
    skipped: int = 0  # settled meanwhile by someone else (the request itself or another reconciler)


def won(amount: int) -> str:
    return f"₩{amount:,}"


# --- Wallet rows and the ledger ---------------------------------------------


def wallet_get_or_create(*, user) -> Wallet:
    """The user's wallet, created empty on first use (safe against concurrent first uses)."""
    wallet = Wallet.objects.filter(user_id=user.pk).first()
    if wallet is None:
        Wallet.objects.bulk_create([Wallet(user_id=user.pk)], ignore_conflicts=True)
        wallet = Wallet.objects.get(user_id=user.pk)
    return wallet


def _wallet_lock(*, user_id: int) -> Wallet:
    """The user's wallet row, locked FOR UPDATE (created if missing).

    Precondition: inside ``transaction.atomic()``; the lock lasts until the
    outermost transaction ends.
    """
    wallet = Wallet.objects.select_for_update().filter(user_id=user_id).first()
    if wallet is None:
        # ON CONFLICT DO NOTHING: two first uses at once both end up here safely.
        Wallet.objects.bulk_create([Wallet(user_id=user_id)], ignore_conflicts=True)
        wallet = Wallet.objects.select_for_update().get(user_id=user_id)
    return wallet


def _post(*, wallet: Wallet, kind: str, amount: int, reference: str) -> LedgerEntry:
    """Append one ledger row and move the balance by ``amount`` (signed).

    Precondition: ``wallet`` was locked with ``_wallet_lock`` in the current
    transaction, so ``wallet.balance`` is current and nobody else can change it.
    """
    wallet.balance += amount
    wallet.save(update_fields=["balance", "updated_at"])
    return LedgerEntry.objects.create(
        wallet=wallet, kind=kind, amount=amount, balance_after=wallet.balance, reference=reference
    )


def _check_positive(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amount must be a positive int of won, got {amount!r}")


def wallet_credit(*, user, amount: int, kind: str, reference: str) -> LedgerEntry:
    """Add ``amount`` won to the user's balance as a CHARGE or REFUND row.

    Lock precondition: may run inside the caller's ``transaction.atomic()``
    (it then becomes a savepoint) and takes the wallet row lock, held until the
    caller's transaction ends. Take it after any charge or reservation locks.
    ``BALANCE_MAX`` is not checked: it limits top-ups when they are asked for,
    never money the user is owed.
    """
    _check_positive(amount)
    if kind not in {LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND}:
        raise ValueError(f"a credit is a CHARGE or a REFUND, not {kind!r}")
    with transaction.atomic():
        wallet = _wallet_lock(user_id=user.pk)
        return _post(wallet=wallet, kind=kind, amount=amount, reference=reference)


def wallet_debit(*, user, amount: int, reference: str, now: dt.datetime | None = None) -> LedgerEntry:
    """Take ``amount`` won from the balance as a PAYMENT row (stored as ``-amount``).

    Raises ``InsufficientBalance`` (409, with ``balance``, ``required`` and
    ``shortfall``) when the balance, read under the lock, is too low; nothing has
    been written then, so the caller's transaction stays usable.

    The balance moves in one conditional ``UPDATE ... WHERE balance >= amount``,
    which takes the wallet row lock and, under it, checks the balance a concurrent
    debit may just have lowered; on PostgreSQL the ledger row is inserted by the
    same statement. A refusal re-reads the balance under the lock for the numbers.

    Lock precondition: meant to run inside the payments app's own
    ``transaction.atomic()``, after it has locked the reservation; takes the
    wallet row lock, held until that transaction ends. ``reference`` (e.g.
    ``"payment:5"``) is unique per kind in the ledger: one debit per payment.
    """
    _check_positive(amount)
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        entry = _debit(user_id=user.pk, amount=amount, reference=reference, now=now)
        if entry is None:
            balance = _wallet_lock(user_id=user.pk).balance
            if balance >= amount:  # a credit landed between the two statements; the lock is ours now
                entry = _debit(user_id=user.pk, amount=amount, reference=reference, now=now)
    if entry is not None:
        return entry
    # Raised outside the block: without a savepoint, an error inside would doom the caller's transaction.
    shortfall = amount - balance
    top_up = max(shortfall, settings.CHARGE_MIN)
    raise InsufficientBalance(
        f"Your balance is {won(balance)} but this costs {won(amount)}: "
        f"charge at least {won(top_up)} to your wallet and try again.",
        balance=balance,
        required=amount,
        shortfall=shortfall,
    )


# The debit as plain SQL: a conditional UPDATE that locks the wallet row and checks the
# balance under that lock, then the ledger row with the resulting balance. PostgreSQL does
# both in one statement; SQLite (3.35+, for RETURNING) in two.
_DEBIT_SQL = """
UPDATE wallet_wallet SET balance = balance - %(amount)s, updated_at = %(now)s
WHERE user_id = %(user)s AND balance >= %(amount)s
RETURNING id, balance
"""
_LEDGER_COLUMNS = "wallet_id, kind, amount, balance_after, reference, created_at"
_DEBIT_WITH_LEDGER_SQL = f"""
WITH debited AS ({_DEBIT_SQL})
INSERT INTO wallet_ledgerentry ({_LEDGER_COLUMNS})
SELECT id, %(kind)s, -%(amount)s, balance, %(reference)s, %(now)s FROM debited
RETURNING id, wallet_id, balance_after
"""
_LEDGER_SQL = f"""
INSERT INTO wallet_ledgerentry ({_LEDGER_COLUMNS})
VALUES (%(wallet)s, %(kind)s, -%(amount)s, %(balance)s, %(reference)s, %(now)s)
RETURNING id, wallet_id, balance_after
"""


def _debit(*, user_id: int, amount: int, reference: str, now: dt.datetime) -> LedgerEntry | None:
    """Debit and record it if the balance suffices (None: it does not, nothing written)."""
    params = {
        "amount": amount,
        "now": connection.ops.adapt_datetimefield_value(now),
        "user": user_id,
        "kind": LedgerEntry.Kind.PAYMENT.value,
        "reference": reference,
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_DEBIT_WITH_LEDGER_SQL, params)
            row = cursor.fetchone()
        else:
            cursor.execute(_DEBIT_SQL, params)
            debited = cursor.fetchone()
            row = None
            if debited is not None:
                cursor.execute(_LEDGER_SQL, {**params, "wallet": debited[0], "balance": debited[1]})
                row = cursor.fetchone()
    if row is None:
        return None
    pk, wallet_id, balance_after = row
    return LedgerEntry(
        pk=pk,
        wallet_id=wallet_id,
        kind=LedgerEntry.Kind.PAYMENT,
        amount=-amount,
        balance_after=balance_after,
        reference=reference,
        created_at=now,
    )


def wallet_refund(*, user, amount: int, reference: str) -> LedgerEntry:
    """Give ``amount`` won back to the balance as a REFUND row; once per ``reference``.

    Idempotent: if a REFUND with this ``reference`` exists already, it is
    returned and nothing is credited again (checked under the wallet lock, so
    two refunds at once still credit once). Same lock precondition as
    ``wallet_debit``.
    """
    _check_positive(amount)
    with transaction.atomic():
        wallet = _wallet_lock(user_id=user.pk)
        existing = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, reference=reference).first()
        if existing is not None:
            if existing.wallet_id != wallet.pk or existing.amount != amount:
                raise ValueError(f"refund {reference!r} exists with another wallet or amount")
            return existing
        return _post(wallet=wallet, kind=LedgerEntry.Kind.REFUND, amount=amount, reference=reference)


# --- Charges ----------------------------------------------------------------


def charge_limits() -> dict[str, int]:
    return {
        "charge_min": settings.CHARGE_MIN,
        "charge_max": settings.CHARGE_MAX,
        "balance_max": settings.BALANCE_MAX,
    }


def _check_charge_amount(amount: int) -> None:
    low, high = settings.CHARGE_MIN, settings.CHARGE_MAX
    if not low <= amount <= high:
        raise ChargeAmountOutOfRange(
            f"You can charge between {won(low)} and {won(high)} at a time; {won(amount)} is outside that range.",
            amount=amount,
            charge_min=low,
            charge_max=high,
        )


def _charge_open(*, user, amount: int) -> Charge:
    """Commit a PENDING charge if the balance limit allows it (step 1)."""
    with transaction.atomic():
        wallet = _wallet_lock(user_id=user.pk)
        # Charges still PENDING may yet be credited: count them, or two
        # concurrent charges could each pass and together overshoot the limit.
        pending = Charge.objects.filter(wallet=wallet, status=Charge.Status.PENDING).aggregate(s=Sum("amount"))["s"]
        pending = pending or 0
        limit = settings.BALANCE_MAX
        room = selectors.charge_room(balance=wallet.balance, pending=pending)
        if amount > room:
            held = f"{won(wallet.balance)} in it" + (f" and {won(pending)} still being charged" if pending else "")
            if room >= settings.CHARGE_MIN:
                advice = f"you can charge at most {won(room)} more."
            else:
                advice = "spend some of it before charging again."
            raise BalanceLimitExceeded(
                f"Your wallet may hold at most {won(limit)}; with {held}, {advice}",
                balance=wallet.balance,
                pending=pending,
                balance_max=limit,
                max_charge=room,
            )
        return Charge.objects.create(user_id=user.pk, wallet=wallet, amount=amount)


def _settle_locked(*, charge: Charge, result: gw.GatewayResult) -> int:
    """Settle a PENDING charge from a definite gateway answer; returns the balance.

    Precondition: ``charge`` is locked FOR UPDATE in the current transaction
    and was re-read as PENDING under that lock.
    """
    charge.gateway_ref = fit(Charge, "gateway_ref", result.ref) if result.ref else charge.gateway_ref
    charge.settled_at = timezone.now()
    if result.status == gw.APPROVED:
        wallet = _wallet_lock(user_id=charge.user_id)
        _post(wallet=wallet, kind=LedgerEntry.Kind.CHARGE, amount=charge.amount, reference=charge.reference)
        charge.status = Charge.Status.SUCCEEDED
        balance = wallet.balance
    else:
        charge.status = Charge.Status.DECLINED
        charge.decline_reason = fit(Charge, "decline_reason", result.reason)
        balance = Wallet.objects.get(pk=charge.wallet_id).balance
    charge.save(update_fields=["status", "gateway_ref", "decline_reason", "settled_at"])
    return balance


def charge_settle(*, charge_id: int, result: gw.GatewayResult, skip_locked: bool = False) -> ChargeResult | None:
    """Apply a definite gateway answer to a charge, exactly once.

    Locks the charge row (then the wallet row) and re-checks PENDING under the
    lock; a charge settled meanwhile is returned unchanged. With
    ``skip_locked`` a charge someone else is settling right now gives ``None``.
    """
    if not result.settled:
        raise ValueError("only an approved or declined answer settles a charge")
    with transaction.atomic():
        charge = Charge.objects.select_for_update(skip_locked=skip_locked).filter(pk=charge_id).first()
        if charge is None:
            return None
        if charge.status != Charge.Status.PENDING:
            return ChargeResult(charge, Wallet.objects.get(pk=charge.wallet_id).balance)
        balance = _settle_locked(charge=charge, result=result)
        return ChargeResult(charge, balance)


def wallet_charge(*, user, amount: int, gateway: gw.Gateway | None = None) -> ChargeResult:
    """Top up the balance by card. Call it outside any transaction.

    Raises ``ChargeAmountOutOfRange`` (400), ``BalanceLimitExceeded`` (409) or
    ``GatewayDeclined`` (502, the charge kept as DECLINED, nothing credited).
    When the gateway does not answer in time the charge is returned PENDING,
    nothing credited yet.
    """
    _check_charge_amount(amount)
    gateway = gateway or gw.get_gateway()
    charge = _charge_open(user=user, amount=amount)
    try:
        result = gateway.authorize(charge_id=str(charge.uid), amount=amount, user_id=user.pk)
    except Exception:
        # Unknown outcome: the gateway may have taken the money. Reconciliation asks later.
        logger.exception("gateway authorize failed for charge %s", charge.pk)
        result = gw.GatewayResult(gw.PENDING)
    if not result.settled:
        return ChargeResult(charge, Wallet.objects.get(pk=charge.wallet_id).balance)
    settled = charge_settle(charge_id=charge.pk, result=result)
    assert settled is not None  # waited for the lock, so the row is there
    if settled.charge.status == Charge.Status.DECLINED:
        reason = f" ({settled.charge.decline_reason})" if settled.charge.decline_reason else ""
        raise GatewayDeclined(
            f"Your card issuer declined the charge of {won(amount)}{reason}; nothing was taken from your card or "
            "added to your balance. Try another card or a smaller amount.",
            charge_id=charge.pk,
        )
    return settled


def reconcile_after_seconds() -> float:
    """A PENDING charge younger than this may still have its own request in flight."""
    return 2 * float(settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS) + 5


def charge_reconcile_pending(
    *, min_age_seconds: float | None = None, limit: int = 500, gateway: gw.Gateway | None = None
) -> ReconcileReport:
    """Ask the gateway about PENDING charges and settle each exactly once.

    Safe to run twice at once: the gateway calls are idempotent lookups made
    without any lock, and settling locks the charge row with
    ``skip_locked=True`` and re-checks PENDING under the lock. A charge the
    gateway never saw is authorised again under the same id (idempotent there).
    """
    if min_age_seconds is None:
        min_age_seconds = reconcile_after_seconds()
    gateway = gateway or gw.get_gateway()
    cutoff = timezone.now() - dt.timedelta(seconds=min_age_seconds)
    rows = list(
        Charge.objects.filter(status=Charge.Status.PENDING, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", "uid", "amount", "user_id")[:limit]
    )
    report = ReconcileReport()
    for pk, uid, amount, user_id in rows:
        report.checked += 1
        try:
            result = gateway.lookup(charge_id=str(uid))
            if result.status == gw.NOT_FOUND:
                result = gateway.authorize(charge_id=str(uid), amount=amount, user_id=user_id)
        except Exception:
            logger.exception("gateway lookup failed for charge %s", pk)
            result = gw.GatewayResult(gw.PENDING)
        if not result.settled:
            report.still_pending += 1
            continue
        with transaction.atomic():
            charge = (
                Charge.objects.select_for_update(skip_locked=True).filter(pk=pk, status=Charge.Status.PENDING).first()
            )
            if charge is None:
                report.skipped += 1
                continue
            _settle_locked(charge=charge, result=result)
        if charge.status == Charge.Status.SUCCEEDED:
            report.succeeded += 1
        else:
            report.declined += 1
    if report.checked:
        logger.info("reconciled pending charges: %s", report)
    return report
