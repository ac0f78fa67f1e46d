"""Fidelity check: the official Okta Python SDK (okta 3.x) against idm-sandbox.

Run by tests/sdk_okta.rs. Reads IDM_OKTA_URL and IDM_OKTA_TOKEN, and the expected tenant
(computed by the Rust test from the sandbox's dump) from the JSON file named by argv[1].
Lists every user over all pages, the DEPROVISIONED users by filter, every group, every
group's members, every app and its group assignments, and the user schema, through the SDK's
own models and pagination helper; any difference is printed and the exit code is 1.
"""

import asyncio
import json
import os
import sys

# The SDK insists on https unless its testing switch is on (a config key it only reads from
# the environment or YAML, not from the dict given to Client).
os.environ.setdefault("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")

from okta.client import Client  # noqa: E402
from okta.pagination import PaginationHelper  # noqa: E402

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)


async def every_page(call, *args, **kwargs):
    """Follow the `after` cursor of the Link header until there is no next page."""
    items, pages, after = [], 0, None
    while True:
        kw = dict(kwargs)
        if after:
            kw["after"] = after
        data, resp, err = await call(*args, **kw)
        if err is not None:
            raise SystemExit(f"okta sdk error calling {call.__name__}: {err}")
        items.extend(data or [])
        pages += 1
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if not after:
            return items, pages
        if pages > 10000:
            raise SystemExit("pagination does not end")


async def main():
    expect = json.load(open(sys.argv[1], encoding="utf-8"))
    limit = expect["page_limit"]
    client = Client({"orgUrl": os.environ["IDM_OKTA_URL"], "token": os.environ["IDM_OKTA_TOKEN"]})

    users, pages = await every_page(client.list_users, limit=limit)
    ids = [u.id for u in users]
    check(ids == expect["users"], f"users: got {len(ids)} ids, want {len(expect['users'])}")
    check(pages == -(-len(expect["users"]) // limit), f"users: {pages} pages at limit {limit}")
    for u in users:
        want = expect["logins"].get(u.id)
        check(u.profile.login == want, f"user {u.id}: login {u.profile.login!r}, want {want!r}")
        check(u.status.value != "DEPROVISIONED", f"user {u.id} is DEPROVISIONED in a plain list")

    deprov, _ = await every_page(client.list_users, filter='status eq "DEPROVISIONED"', limit=limit)
    check([u.id for u in deprov] == expect["deprovisioned"], "deprovisioned users by filter")

    one = expect["users"][0]
    user, _, err = await client.get_user(one)
    check(err is None and user.id == one, f"get_user {one}: {err}")

    groups, _ = await every_page(client.list_groups, limit=3)
    # GroupProfile is an anyOf (Okta or Active Directory profile)
    got_groups = {g.id: {"name": g.profile.actual_instance.name, "type": g.type.value} for g in groups}
    check(got_groups == expect["groups"], f"groups: got {got_groups}, want {expect['groups']}")
    for gid, want in expect["members"].items():
        members, _ = await every_page(client.list_group_users, gid, limit=limit)
        check(len(members) == want, f"group {gid}: {len(members)} members, want {want}")

    apps, _ = await every_page(client.list_applications, limit=2)
    got_apps = {a.id: {"label": a.label, "signOnMode": a.sign_on_mode.value} for a in apps}
    check(got_apps == expect["apps"], f"apps: got {got_apps}, want {expect['apps']}")
    for aid, want in expect["app_groups"].items():
        assigned, _ = await every_page(client.list_application_group_assignments, aid)
        check(len(assigned) == want, f"app {aid}: {len(assigned)} group assignments, want {want}")

    schema, _, err = await client.get_user_schema("default")
    check(err is None, f"get_user_schema: {err}")
    if err is None:
        custom = sorted((schema.definitions.custom.properties or {}).keys())
        check(custom == sorted(expect["custom_attributes"]), f"schema custom: {custom}")

    # writes, as a load into Okta would do them
    from okta.models import AddGroupRequest, CreateUserRequest  # noqa: E402

    group, _, err = await client.add_group(
        AddGroupRequest.from_dict({"profile": {"name": "SDK Group", "description": "made by the SDK"}}))
    check(err is None and group.type.value == "OKTA_GROUP", f"add_group: {err}")
    body = CreateUserRequest.from_dict({
        "profile": {"firstName": "Isaac", "lastName": "Brock", "email": "isaac.brock@example.com",
                    "login": "isaac.brock@example.com"},
        "credentials": {"password": {"hash": {
            "algorithm": "BCRYPT", "workFactor": 10, "salt": "rwh3vH166HCH/NT9XV5FYu",
            "value": "qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna"}}},
    })
    user, _, err = await client.create_user(body, activate=False)
    check(err is None, f"create_user: {err}")
    if err is None:
        check(user.status.value == "STAGED", f"created user is {user.status}")
        check(user.credentials.provider.type.value == "IMPORT", "hash import provider")
        if group is not None:
            _, _, err = await client.assign_user_to_group(group.id, user.id)
            check(err is None, f"assign_user_to_group: {err}")
            members, _ = await every_page(client.list_group_users, group.id)
            check([m.id for m in members] == [user.id], "the assigned member is listed")
        _, _, err = await client.create_user(body, activate=False)
        check(err is not None and "E0000001" in str(err), f"duplicate login: {err}")

    if FAILURES:
        for f in FAILURES:
            print(f"okta_sdk.py: {f}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"users": len(users), "deprovisioned": len(deprov), "groups": len(groups),
                      "apps": len(apps)}))


asyncio.run(main())
