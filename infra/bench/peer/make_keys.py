"""Creates N keys with the library's create_key and writes the plain keys, one per line."""
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
django.setup()

from rest_framework_api_key.models import APIKey  # noqa: E402

count, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as keys:
    for i in range(count):
        _, plain = APIKey.objects.create_key(name=f"bench-{i}")
        keys.write(plain + "\n")
