from core.schedules import schedule

schedule(
    name="wallet.reconcile_pending_charges", func="wallet.tasks.reconcile_pending_charges", schedule_type="I", minutes=1
)
