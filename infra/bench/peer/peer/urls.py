"""POST /verify: the library's own check of a presented key, answered like Latchkey's verify."""
import json

from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework_api_key.models import APIKey


@csrf_exempt
def verify(request):
    try:
        key = json.loads(request.body)["key"]
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest()
    return JsonResponse({"valid": bool(isinstance(key, str) and APIKey.objects.is_valid(key))})


urlpatterns = [path("verify", verify)]
