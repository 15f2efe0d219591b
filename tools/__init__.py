"""Developer tools outside the Django project: the process runner, the database check, the process harness."""
