"""Catalogue API routes (the concerts, their dates and seat maps), included under /api/v1/."""

from concerts.api.views import ConcertViewSet
from core.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("concerts", ConcertViewSet, basename="concert")

urlpatterns = router.urls
