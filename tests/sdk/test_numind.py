"""numind's client (numind 0.1.0, `numind.openapi_client`, pinned in requirements.txt) against the
local stack: the four key operations of its `AuthenticationApi` (list, create, update, delete),
with a session and with a key, each answer read into the client's own strict models (`token`,
`userId`, `createdAt` and `expiresAt` are required strings). Its sign-in operations are driven by
test_numind_signin.py.
"""

import uuid

import pytest
from numind.openapi_client import ApiClient, AuthenticationApi, Configuration, CreateApiKey, UpdateApiKey
from numind.openapi_client.exceptions import ApiException

from conftest import session_token, verify


def client(api_url, token):
    return ApiClient(Configuration(host=api_url, access_token=token))


def test_every_key_operation_through_the_client(api_url, owner):
    user_id, workspace, token = owner
    with client(api_url, token) as session:
        auth = AuthenticationApi(session)
        created = auth.post_api_auth_api_keys(CreateApiKey(name="extraction", maybe_orga=workspace))
        assert created.name == "extraction"
        assert created.user_id == user_id
        assert created.organization == workspace
        assert created.expires_at == ""
        assert created.token.startswith("sk_") and "****" not in created.token
        assert verify(api_url, created.token)["valid"] is True

    # The key itself, as numind's clients send it: Authorization: Bearer <key>.
    with client(api_url, created.token) as as_key:
        auth = AuthenticationApi(as_key)
        listed = auth.get_api_auth_api_keys()
        assert [k.id for k in listed] == [created.id]
        assert listed[0].token == f"sk_****{created.token[-4:]}"

        renamed = auth.put_api_auth_api_keys_apikeyid(created.id, UpdateApiKey(name="renamed"))
        assert renamed.name == "renamed"
        assert "****" in renamed.token

    with client(api_url, token) as session:
        auth = AuthenticationApi(session)
        auth.delete_api_auth_api_keys_apikeyid(created.id)
        assert auth.get_api_auth_api_keys() == []
        with pytest.raises(ApiException) as gone:
            auth.delete_api_auth_api_keys_apikeyid(created.id)
        assert gone.value.status == 404


def test_another_organization_and_another_user_s_key_are_404(api_url, owner):
    with client(api_url, owner[2]) as session:
        auth = AuthenticationApi(session)
        with pytest.raises(ApiException) as foreign:
            auth.post_api_auth_api_keys(CreateApiKey(name="k", maybe_orga=str(uuid.uuid4())))
        assert foreign.value.status == 404
        mine = auth.post_api_auth_api_keys(CreateApiKey(name="mine"))
    stranger = session_token(str(uuid.uuid4()), str(uuid.uuid4()))
    with client(api_url, stranger) as other:
        auth = AuthenticationApi(other)
        assert auth.get_api_auth_api_keys() == []
        with pytest.raises(ApiException) as theirs:
            auth.put_api_auth_api_keys_apikeyid(mine.id, UpdateApiKey(name="theirs"))
        assert theirs.value.status == 404
