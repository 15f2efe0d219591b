from core.schedules import schedule

schedule(name="queue_app.purge_expired_passes", func="queue_app.tasks.purge_expired_passes", schedule_type="H")
