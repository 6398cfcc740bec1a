"""spartera's official SDK (spartera-api-sdk 1.0.83, pinned in requirements.txt) against the local stack.

Every one of its seven API-key operations is called as a user of the SDK calls it. The SDK is strict
where it matters: it reads an answer only when its status is 200, and its models want `api_key_id`
as an integer in a key and as a string in the answers of create, update, revoke and delete. It
authenticates with `x-api-key`; the first key is made with a session, passed as a header.
"""

import json

import pytest
import spartera_api_sdk as spartera
from spartera_api_sdk import APIKeysApi

from conftest import verify


def keys_api(api_url, key=None):
    config = spartera.Configuration(host=api_url)
    if key is not None:
        config.api_key["ApiKeyAuth"] = key
    return APIKeysApi(spartera.ApiClient(config))


def test_every_key_operation_through_the_sdk(api_url, owner):
    user_id, company, token = owner
    session = {"Authorization": f"Bearer {token}"}
    api = keys_api(api_url)

    created = api.create_api_keys(
        company,
        spartera.ApiKeysInput(company_id=company, role_id=1, name="analytics", key_type="analytics"),
        _headers=session,
    )
    number = created.data.api_key_id
    assert number.isdigit()
    # The SDK's model keeps only `api_key_id`; the whole key is in the raw answer, once.
    raw = api.create_api_keys_with_http_info(
        company, spartera.ApiKeysInput(company_id=company, role_id=3, name="raw"), _headers=session
    )
    assert raw.status_code == 200
    key = json.loads(raw.raw_data)["data"]["api_key"]
    second = raw.data.data.api_key_id
    assert key.startswith("sk_") and int(second) > int(number)
    assert verify(api_url, key)["valid"] is True

    # From here on, the key itself in x-api-key (a member's key: it manages its owner's keys).
    api = keys_api(api_url, key)
    listed = api.list_api_keys(company, page=1, limit=10, sort_by="name", sort_order="asc", search="a")
    assert [k.name for k in listed.data] == ["analytics", "raw"]
    assert all(isinstance(k.api_key_id, int) for k in listed.data)
    assert listed.data[0].company_id == company and listed.data[0].user_id == user_id

    one = api.get_api_keys_by_id(company, second)
    assert one.data.api_key_id == int(second)
    assert one.data.role_id == 3 and one.data.key_type == "analytics"
    assert one.data.is_system_generated is False

    updated = api.update_api_keys(
        company, number, spartera.ApiKeysUpdate(name="analytics, renamed", endpoint_id="ep-1")
    )
    assert updated.data.api_key_id == number
    assert api.get_api_keys_by_id(company, number).data.name == "analytics, renamed"

    stats = api.get_api_keys_by_id_api_keys_stats(company, second)
    assert stats.data.api_key_id == int(second)

    revoked = api.create_api_keys_api_keys_revoke(
        company, number, spartera.ApiKeysInput(company_id=company, role_id=1)
    )
    assert revoked.data.api_key_id == number
    assert api.get_api_keys_by_id(company, number).data.api_key_id == int(number)

    deleted = api.delete_api_keys(company, number)
    assert deleted.data.api_key_id == number
    with pytest.raises(spartera.ApiException) as gone:
        api.get_api_keys_by_id(company, number)
    assert gone.value.status == 404


def test_errors_reach_the_sdk_as_its_exception(api_url, owner):
    _, company, token = owner
    api = keys_api(api_url)
    session = {"Authorization": f"Bearer {token}"}
    with pytest.raises(spartera.ApiException) as bad:
        api.create_api_keys(
            company, spartera.ApiKeysInput(company_id=company, role_id=9), _headers=session
        )
    assert bad.value.status == 400
    body = json.loads(bad.value.body)
    assert body["code"] == 400 and "role_id" in body["errors"]

    with pytest.raises(spartera.ApiException) as unauthenticated:
        api.list_api_keys(company)
    assert unauthenticated.value.status == 401

    with pytest.raises(spartera.ApiException) as elsewhere:
        api.list_api_keys("another-company", _headers=session)
    assert elsewhere.value.status == 404
