from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness, and the benchmark's baseline: a bare Django JSON view, no database."""
    return JsonResponse({"status": "ok"})
