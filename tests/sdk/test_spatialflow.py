"""The official spatialflow SDK (3.2.0, pinned in requirements.txt) against the local stack.

Every one of AccountApi's 20 operations is called as a user of the SDK would call it, and each
answer must deserialize into the SDK's own strict pydantic models (a 2xx the SDK does not declare
would come back as None, a missing or mistyped field raises).

One operation cannot succeed in the SDK whatever a server answers: set_api_key_expiration
declares its 200 as `Dict[str, Optional[str]]`, and the SDK's deserializer looks `Optional[str]`
up as a model class and raises AttributeError on any non-null value. The suite checks that defect
is the SDK's (the request is right and answered 200), then reads the same call's answer through
the SDK's `_without_preload_content` variant, which sends the identical request.
"""

import asyncio
import datetime
import json
import os
import uuid

import pytest
from spatialflow import SpatialFlow
from spatialflow._generated.spatialflow_generated import models
from spatialflow._generated.spatialflow_generated.exceptions import ApiException

from conftest import run, session_token, verify

# The stack's cache bound, and a second more so a token signed after it is issued later than a
# revocation (token times are whole seconds).
CACHE_BOUND = float(os.environ.get("LATCHKEY_KEY_CACHE_TTL_SECONDS", "30")) + 1.5


def client(api_url, token):
    return SpatialFlow(access_token=token, base_url=api_url, max_retries=0)


async def create_key(account, name="sdk key", **extra):
    request = models.ApiKeyCreateRequest(name=name, permissions=["orders:read"], **extra)
    return await account.apps_accounts_api_create_api_key(request)


async def set_expiration(account, key_id, expires_at):
    """The SDK's set_api_key_expiration request, its 200 answer read as JSON (see the module doc)."""
    raw = await account.apps_accounts_api_set_api_key_expiration_without_preload_content(
        key_id, expires_at=expires_at
    )
    assert raw.status == 200, await raw.text()
    return json.loads(await raw.read())


def test_health(api_url, owner):
    async def go():
        async with client(api_url, owner[2]) as c:
            assert await c.raw.account.apps_accounts_api_account_health_check() == {"status": "ok"}

    run(go())


def test_key_lifecycle_through_every_key_operation(api_url, owner):
    async def go():
        async with client(api_url, owner[2]) as c:
            account = c.raw.account
            created = await create_key(account, description="made by the SDK")
            assert isinstance(created, models.ApiKeyCreateResponse)
            key_id = created.api_key.id
            assert created.api_key.api_key.startswith("sk_")

            listed = await account.apps_accounts_api_get_api_keys()
            assert [k.id for k in listed] == [key_id]
            assert isinstance(listed[0], models.ApiKeyResponse)
            one = await account.apps_accounts_api_get_api_key(key_id)
            assert one.description == "made by the SDK"
            assert one.created_at.tzinfo is not None

            updated = await account.apps_accounts_api_update_api_key(
                key_id, models.ApiKeyUpdateRequest(name="renamed", read_only=True)
            )
            assert updated["api_key"]["name"] == "renamed"

            # The SDK formats the datetime as %Y-%m-%dT%H:%M:%S.%f%z.
            soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
            with pytest.raises(AttributeError, match=r"Optional\[str\]"):
                await account.apps_accounts_api_set_api_key_expiration(key_id, expires_at=soon)
            assert (await account.apps_accounts_api_get_api_key(key_id)).expires_at is not None
            expiry = await set_expiration(account, key_id, soon)
            assert expiry["id"] == key_id
            assert expiry["expires_at"].startswith(soon.strftime("%Y-%m-%dT%H:%M:%S"))
            # A naive datetime (no offset at all) means UTC.
            naive = (soon + datetime.timedelta(days=1)).replace(tzinfo=None)
            expiry = await set_expiration(account, key_id, naive)
            assert expiry["expires_at"].startswith(naive.strftime("%Y-%m-%dT%H:%M:%S"))

            expiring = await account.apps_accounts_api_list_expiring_api_keys(days=30)
            assert [k["id"] for k in expiring] == [key_id]
            assert expiring[0]["days_until_expiry"] in (3, 4)

            # The SDK omits a None parameter: that clears the expiry.
            cleared = await set_expiration(account, key_id, None)
            assert cleared["expires_at"] is None
            assert await account.apps_accounts_api_list_expiring_api_keys(days=30) == []

            regenerated = await account.apps_accounts_api_regenerate_api_key(key_id)
            assert regenerated.api_key.id == key_id
            assert regenerated.api_key.api_key != created.api_key.api_key

            rotated = await account.apps_accounts_api_rotate_api_key(key_id, grace_period_days=0)
            assert isinstance(rotated, models.ApiKeyCreateResponse)
            assert rotated.api_key.id != key_id

            # The SDK declares 204 for delete; Latchkey answers the contract's 200 body, which the
            # SDK hands back as None. The key is gone either way.
            await account.apps_accounts_api_delete_api_key(rotated.api_key.id)
            with pytest.raises(ApiException) as gone:
                await account.apps_accounts_api_get_api_key(rotated.api_key.id)
            assert gone.value.status == 404

    run(go())


def test_a_key_made_by_the_sdk_verifies(api_url, owner):
    # The SDK sends only session tokens on AccountApi (no operation lists APIKeyBearer); its keys
    # are for the services they protect.
    async def go():
        async with client(api_url, owner[2]) as c:
            created = await create_key(c.raw.account)
        answer = verify(api_url, created.api_key.api_key)
        assert (answer["valid"], answer["key_id"], answer["owner_id"]) == (True, created.api_key.id, owner[0])

    run(go())


def test_profile_and_the_sdk_preferences(api_url, owner):
    async def go():
        async with client(api_url, owner[2]) as c:
            account = c.raw.account
            profile = await account.apps_accounts_api_get_user_profile()
            assert isinstance(profile, models.UserProfileResponse)
            assert profile.default_map_style == "streets"
            assert profile.default_geofence_color == "#3B82F6"
            assert profile.has_completed_workflow_tour is False
            changed = await account.apps_accounts_api_update_user_profile(
                models.UpdateProfileRequest(
                    name="Renamed",
                    timezone="Europe/Berlin",
                    default_map_style="satellite",
                    default_geofence_color="#10B981",
                    has_completed_workflow_tour=True,
                )
            )
            assert changed["profile"]["default_map_style"] == "satellite"
            again = await account.apps_accounts_api_get_user_profile()
            assert (again.name, again.timezone) == ("Renamed", "Europe/Berlin")
            assert again.default_geofence_color == "#10B981"
            assert again.has_completed_workflow_tour is True
            # Updated in the same second it was created: updated_at still moves.
            assert again.updated_at > profile.created_at

    run(go())


def test_notifications(api_url, owner):
    async def go():
        async with client(api_url, owner[2]) as c:
            account = c.raw.account
            created = await create_key(account)
            await account.apps_accounts_api_rotate_api_key(created.api_key.id, grace_period_days=1)
            page = await account.apps_accounts_api_get_notifications(unread_only=True)
            assert isinstance(page, models.NotificationListResponse)
            assert page.count == len(page.notifications) >= 1
            rotated = next(n for n in page.notifications if n.type == "api_key.rotated")
            assert rotated.action_url and rotated.action_label
            marked = await account.apps_accounts_api_mark_notification_read(rotated.id)
            assert marked["id"] == rotated.id
            await account.apps_accounts_api_mark_all_notifications_read()
            unread = await account.apps_accounts_api_get_notifications(unread_only=True)
            assert unread.count == 0 and unread.notifications == []

    run(go())


def test_dashboard_metrics_for_every_range(api_url, owner):
    async def go():
        async with client(api_url, owner[2]) as c:
            account = c.raw.account
            await create_key(account)
            for time_range in ("today", "7d", "30d"):
                metrics = await account.apps_accounts_api_get_dashboard_metrics(time_range=time_range)
                assert isinstance(metrics, models.DashboardMetricsResponse)
                assert metrics.time_range == time_range
                assert metrics.active_workflows == 1
                assert metrics.comparison.workflows_change in (0, 1)
            # The SDK sends custom dates as datetimes, as the seed's own example does.
            custom = await account.apps_accounts_api_get_dashboard_metrics(
                time_range="custom",
                start_date=datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc),
                end_date=datetime.datetime(2025, 1, 31),
            )
            assert custom.period_start.date() == datetime.date(2025, 1, 1)
            assert custom.period_end.date() == datetime.date(2025, 2, 1)
            assert custom.events_total == 0
            assert custom.action_delivery_success.rate is None

    run(go())


def test_erasure_jobs(api_url, owner):
    async def go():
        async with client(api_url, owner[2]) as c:
            account = c.raw.account
            job = await account.apps_accounts_api_create_erasure_job(
                models.PrivacyErasureRequest(
                    scope="date_range",
                    from_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
                    to_date=datetime.datetime(2026, 1, 2),
                    dry_run=True,
                )
            )
            # The SDK declares 201; anything else would come back as None and lose the job id.
            assert isinstance(job, models.PrivacyErasureResponse)
            assert (job.status, job.dry_run, job.estimated_count) == ("completed", True, 0)
            again = await account.apps_accounts_api_get_erasure_job(job.job_id)
            assert again.job_id == job.job_id

    run(go())


def test_issue_reports_are_scrubbed_and_announced(api_url, owner):
    async def go():
        async with client(api_url, owner[2]) as c:
            account = c.raw.account
            key = (await create_key(account)).api_key.api_key
            report = await account.apps_accounts_api_create_issue_report(
                models.IssueReportRequest(
                    description=f"my key {key} stopped working",
                    area="API keys",
                    diagnostics={"headers": {"X-API-KEY": key}},
                )
            )
            assert isinstance(report, models.IssueReportResponse)
            assert report.status == "received"
            assert report.reference_id.startswith("LK-") and len(report.reference_id) == 9
            page = await account.apps_accounts_api_get_notifications()
            notice = next(n for n in page.notifications if n.type == "support.issue_reported")
            assert report.reference_id in notice.title
            assert key not in notice.message

    run(go())


def test_delete_own_account(api_url, owner):
    sub, workspace, token = owner

    async def go():
        async with client(api_url, token) as c:
            account = c.raw.account
            created = await create_key(account)
            await account.apps_accounts_api_update_user_profile(models.UpdateProfileRequest(bio="gone soon"))
            assert await account.apps_accounts_api_delete_own_account() is None
            # Every session of the user is revoked: past the cache bound the token is refused.
            await asyncio.sleep(CACHE_BOUND)
            with pytest.raises(ApiException) as refused:
                await account.apps_accounts_api_get_user_profile()
            assert refused.value.status == 401
        assert verify(api_url, created.api_key.api_key)["code"] == "NOT_FOUND"
        # Signing in again starts afresh: a new profile, without what the old one held, no keys.
        async with client(api_url, session_token(sub, workspace)) as c:
            profile = await c.raw.account.apps_accounts_api_get_user_profile()
            assert profile.bio is None
            assert await c.raw.account.apps_accounts_api_get_api_keys() == []
            assert await c.raw.account.apps_accounts_api_delete_own_account() is None

    run(go())


def test_the_only_owner_of_a_shared_workspace_cannot_leave(api_url, owner):
    async def go():
        sub, workspace, token = owner
        member = session_token(str(uuid.uuid4()), workspace, role="member")
        async with client(api_url, token) as c:
            await c.raw.account.apps_accounts_api_get_user_profile()
        async with client(api_url, member) as c:
            await c.raw.account.apps_accounts_api_get_user_profile()
        async with client(api_url, token) as c:
            with pytest.raises(ApiException) as conflict:
                await c.raw.account.apps_accounts_api_delete_own_account()
            assert conflict.value.status == 409
        async with client(api_url, member) as c:
            assert await c.raw.account.apps_accounts_api_delete_own_account() is None

    run(go())
