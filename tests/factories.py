from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from concerts import services as concert_services
from concerts.models import Concert, Performance


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"fan{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ConcertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Concert

    title = factory.Sequence(lambda n: f"Concert {n}")
    artist = "The Testers"
    venue = "Hall A"
    description = "A concert for tests."


def make_performance(
    concert: Concert | None = None, *, days: int = 3, date: dt.date | None = None, **kwargs
) -> Performance:
    """A performance with the default 50 seats, ``days`` after today (TIME_ZONE)."""
    concert = concert or ConcertFactory()
    date = date or timezone.localdate() + dt.timedelta(days=days)
    return concert_services.performance_create(concert=concert, date=date, **kwargs)


def admit(client, concert: Concert) -> str:
    """Give an API client an ACTIVE pass for the concert (sent on every request)."""
    from queue_app.services import queue_admit_now

    body = client.post(f"/api/v1/concerts/{concert.pk}/queue/tokens").json()
    if body["status"] != "ACTIVE":
        queue_admit_now(concert_id=concert.pk, count=10_000)
    client.credentials(HTTP_X_QUEUE_TOKEN=body["token"])
    return body["token"]


def admitted_http_fan(concert: Concert):
    """A fan with an API token and an ACTIVE pass for the concert, for calls over real HTTP:
    the user and the headers every gated request sends."""
    from rest_framework.authtoken.models import Token

    from queue_app.services import pass_join, queue_admit_now

    user = UserFactory()
    view, _ = pass_join(user_id=user.pk, concert_id=concert.pk)
    queue_admit_now(concert_id=concert.pk, count=10_000)
    return user, {"Authorization": f"Token {Token.objects.create(user=user).key}", "X-Queue-Token": str(view.token)}
