from core.schedules import schedule

schedule(name="concerts.sweep_lapsed_holds", func="concerts.tasks.sweep_lapsed_holds", schedule_type="I", minutes=1)
