"""latitude.sh's official SDK (latitudesh-python-sdk 3.4.6, pinned in requirements.txt) against the
local stack.

Every one of its API-key operations (list, create, regenerate, update_api_key, delete) is called as
a user of the SDK calls it. The SDK is strict where it matters: it reads an answer only when its
status is the one it declares (201 for create, 200 for the rest) and its content type is
`application/vnd.api+json`, and raises otherwise; it sends the key bare in `Authorization`.
"""

import uuid

import pytest
from latitudesh_python_sdk import Latitudesh, models

from conftest import session_token, verify

# The SDK's own default is httpx's 5 s; the suite runs on two cores beside the stack's other
# tests, where a first request (a new user provisioned) can take longer. A user sets it the same way.
TIMEOUT_MS = 30_000


def test_every_key_operation_through_the_sdk(api_url, owner):
    user_id = owner[0]
    # A session, as `Authorization: Bearer <jwt>`: the SDK sends its `bearer` value verbatim.
    with Latitudesh(bearer=f"Bearer {owner[2]}", server_url=api_url, timeout_ms=TIMEOUT_MS) as session:
        created = session.api_keys.create(
            data={"type": "api_keys", "attributes": {"name": "edge", "allowed_ips": ["127.0.0.0/8"]}}
        )
        key = created.data
        token = key.attributes.token
        assert key.type == models.Type.API_KEYS
        assert token.startswith("sk_")
        assert key.attributes.token_last_slice == token[-5:]
        assert key.attributes.name == "edge"
        assert key.attributes.allowed_ips == ["127.0.0.0/8"]
        assert key.attributes.user.id == user_id
        assert key.attributes.user.email == f"{user_id}@example.test"
        assert key.attributes.created_at is not None
        assert verify(api_url, token)["valid"] is True

    # The key itself, bare in Authorization, as latitude.sh's clients send it.
    with Latitudesh(bearer=token, server_url=api_url, timeout_ms=TIMEOUT_MS) as client:
        listed = client.api_keys.list()
        assert [k.id for k in listed.data] == [key.id]
        assert listed.data[0].attributes.token is None, "the token is shown only at birth"
        assert listed.data[0].attributes.token_last_slice == token[-5:]

        updated = client.api_keys.update_api_key(
            api_key_id=key.id,
            data={"type": "api_keys", "id": key.id, "attributes": {"name": "edge, renamed"}},
        )
        assert updated.data.attributes.name == "edge, renamed"
        assert updated.data.attributes.token is None
        assert updated.data.attributes.allowed_ips == ["127.0.0.0/8"]

    with Latitudesh(bearer=f"Bearer {owner[2]}", server_url=api_url, timeout_ms=TIMEOUT_MS) as session:
        regenerated = session.api_keys.regenerate(
            api_key_id=key.id, data={"type": "api_keys", "id": key.id, "attributes": {"read_only": True}}
        )
        new_token = regenerated.data.attributes.token
        assert regenerated.data.id == key.id
        assert new_token != token and new_token.startswith("sk_")
        assert regenerated.data.attributes.token_last_slice == new_token[-5:]
        assert regenerated.data.attributes.read_only is True
        assert regenerated.data.attributes.name == "edge, renamed"
        assert verify(api_url, new_token)["valid"] is True

        session.api_keys.delete(api_key_id=key.id)
        assert session.api_keys.list().data == []


def test_errors_reach_the_sdk_as_its_api_error(api_url, owner):
    with Latitudesh(bearer=f"Bearer {owner[2]}", server_url=api_url, timeout_ms=TIMEOUT_MS) as session:
        with pytest.raises(models.APIError) as missing:
            session.api_keys.update_api_key(api_key_id=str(uuid.uuid4()), data={"type": "api_keys"})
        assert missing.value.status_code == 404
        assert missing.value.raw_response.headers["content-type"] == "application/vnd.api+json"
        assert missing.value.raw_response.json()["errors"][0]["status"] == "404"

        with pytest.raises(models.APIError) as bad:
            session.api_keys.create(data={"type": "api_keys", "attributes": {"allowed_ips": ["nope"]}})
        assert bad.value.status_code == 400
        error = bad.value.raw_response.json()["errors"][0]
        assert error["source"]["pointer"] == "/data/attributes/allowed_ips/0"

    stranger = session_token(str(uuid.uuid4()), str(uuid.uuid4()))
    with Latitudesh(bearer=f"Bearer {owner[2]}", server_url=api_url, timeout_ms=TIMEOUT_MS) as session:
        mine = session.api_keys.create(data={"type": "api_keys"}).data
    with Latitudesh(bearer=f"Bearer {stranger}", server_url=api_url, timeout_ms=TIMEOUT_MS) as other:
        assert other.api_keys.list().data == []
        with pytest.raises(models.APIError) as foreign:
            other.api_keys.delete(api_key_id=mine.id)
        assert foreign.value.status_code == 404, "another user's key is a 404"
