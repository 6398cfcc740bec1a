"""numind's client (numind 0.1.0) signing in against the local stack's OpenID provider: its four
sign-in operations of `AuthenticationApi` (get_api_auth, post_api_auth_token for a code and for a
refresh, get_api_auth_me, post_api_auth_logout), each answer read into the client's own models.

The sign-in's state travels in the HttpOnly cookie `GET /api/auth` sets, as a browser keeps it;
the client is handed that cookie with its own `ApiClient(cookie=...)`. The provider signs the user
in with `login_hint`, the local stack's development sign-in.
"""

import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar

import pytest
from numind.openapi_client import (
    ApiClient,
    AuthenticationApi,
    Configuration,
    TokenCodeRequest,
    TokenRefreshRequest,
    TokenRequest,
)
from numind.openapi_client.exceptions import ApiException

REDIRECT = "http://localhost:5173"


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def through_the_provider(url):
    """Follows the provider's redirects, cookies kept, until it sends the user back: the code."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _Stay)
    for _ in range(10):
        if url.startswith(REDIRECT):
            return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["code"][0]
        try:
            opener.open(url, timeout=30)
            raise AssertionError(f"the provider did not redirect from {url}")
        except urllib.error.HTTPError as redirect:
            url = urllib.parse.urljoin(url, redirect.headers["Location"])
    raise AssertionError("the provider never sent the user back")


def api(api_url, token=None, cookie=None):
    return AuthenticationApi(ApiClient(Configuration(host=api_url, access_token=token), cookie=cookie))


def test_sign_in_refresh_me_and_logout_through_the_client(api_url):
    sub, workspace = str(uuid.uuid4()), str(uuid.uuid4())
    started = api(api_url).get_api_auth_with_http_info(redirect_uri=REDIRECT)
    assert started.status_code == 200
    cookie = started.headers["set-cookie"].split(";")[0]
    url = started.data + "&" + urllib.parse.urlencode({"login_hint": sub, "workspace_id": workspace})
    code = through_the_provider(url)

    tokens = api(api_url, cookie=cookie).post_api_auth_token(
        TokenRequest(TokenCodeRequest(type="ai.numind.extract.shared.TokenCodeRequest", code=code, redirect_uri=REDIRECT))
    )
    assert tokens.expires_in == 3600 and tokens.refresh_token.startswith("rt_")

    me = api(api_url, token=tokens.token).get_api_auth_me()
    assert me.email == f"{sub}@example.test"
    assert me.is_admin is False
    assert [o.id for o in me.organizations] == [workspace]

    refreshed = api(api_url).post_api_auth_token(
        TokenRequest(TokenRefreshRequest(type="ai.numind.extract.shared.TokenRefreshRequest", token=tokens.refresh_token))
    )
    assert refreshed.refresh_token != tokens.refresh_token
    with pytest.raises(ApiException) as reused:
        api(api_url).post_api_auth_token(
            TokenRequest(TokenRefreshRequest(type="ai.numind.extract.shared.TokenRefreshRequest", token=tokens.refresh_token))
        )
    assert reused.value.status == 400


def test_logout_through_the_client(api_url):
    sub = str(uuid.uuid4())
    started = api(api_url).get_api_auth_with_http_info(redirect_uri=REDIRECT)
    cookie = started.headers["set-cookie"].split(";")[0]
    code = through_the_provider(started.data + "&" + urllib.parse.urlencode({"login_hint": sub}))
    tokens = api(api_url, cookie=cookie).post_api_auth_token(
        TokenRequest(TokenCodeRequest(type="ai.numind.extract.shared.TokenCodeRequest", code=code, redirect_uri=REDIRECT))
    )
    session = api(api_url, token=tokens.token)
    assert session.get_api_auth_me().email == f"{sub}@example.test"
    session.post_api_auth_logout(tokens.refresh_token)
    time.sleep(float(os.environ.get("LATCHKEY_KEY_CACHE_TTL_SECONDS", "30")) + 0.5)
    with pytest.raises(ApiException) as refused:
        session.get_api_auth_me()
    assert refused.value.status == 401

    with pytest.raises(ApiException) as foreign:
        api(api_url).get_api_auth(redirect_uri="http://evil.example")
    assert foreign.value.status == 400
