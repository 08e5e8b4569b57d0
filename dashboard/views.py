from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    # Liveness only: it touches neither the database nor Clarity, so a slow
    # upstream does not get healthy dashboard processes restarted.
    return JsonResponse({"status": "ok"})
