from core.schedules import schedule

schedule(name="payments.dispatch_outbox", func="payments.tasks.dispatch_outbox", schedule_type="I", minutes=1)
