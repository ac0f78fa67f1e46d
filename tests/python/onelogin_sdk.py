"""Fidelity check of the simulated OneLogin API through the official `onelogin` 4.x SDK.

Run by tests/sdk_onelogin.rs against a running sandbox. Connection settings come from the
environment (never argv): IDM_ONELOGIN_URL, IDM_ONELOGIN_CLIENT_ID,
IDM_ONELOGIN_CLIENT_SECRET, IDM_ONELOGIN_SUBDOMAIN. The script creates, lists and updates users, roles, role users
and custom attributes through the SDK, asserts what it can on its own, and prints one JSON
object on stdout with what it saw so the Rust side can compare it with the sandbox's dump.

Where the SDK has no method (v2 custom attribute definitions, connectors, whose spec
declares a single object where the API returns an array) the script still goes through the
SDK's own ApiClient.call_api, i.e. the SDK's auth, serialization and error handling.
"""

import hashlib
import json
import os
import sys

import onelogin
from onelogin.rest import ApiException


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def header(resp, name):
    for k, v in resp.headers.items():
        if k.lower() == name.lower():
            return v
    return None


def expect_error(fn, status, contains=None):
    try:
        fn()
    except ApiException as e:
        check(e.status == status, f"expected HTTP {status}, got {e.status}: {e.body}")
        body = json.loads(e.body) if e.body else {}
        if contains is not None:
            text = json.dumps(body).lower()
            check(contains.lower() in text, f"{contains!r} not in error body {e.body}")
        return body
    raise AssertionError(f"expected HTTP {status}, call succeeded")


def raw(client, method, path, body=None, query=None):
    """A call through the SDK's ApiClient for endpoints the SDK has no method for."""
    return client.call_api(
        path,
        method,
        {},
        query or [],
        {"Accept": "application/json", "Content-Type": "application/json"},
        body=body,
        response_types_map={"200": "object", "201": "object"},
        auth_settings=["OAuth2"],
        _return_http_data_only=True,
    )


def main():
    url = os.environ["IDM_ONELOGIN_URL"]
    cfg = onelogin.Configuration(
        host=url,
        username=os.environ["IDM_ONELOGIN_CLIENT_ID"],
        password=os.environ["IDM_ONELOGIN_CLIENT_SECRET"],
    )
    out = {}
    with onelogin.ApiClient(cfg) as client:
        oauth = onelogin.OAuth2Api(client)
        tok = oauth.generate_token(onelogin.GenerateTokenRequest(grant_type="client_credentials"))
        check(tok.token_type == "bearer", f"token_type {tok.token_type}")
        check(tok.expires_in and tok.expires_in > 0, "expires_in")
        again = oauth.generate_token(onelogin.GenerateTokenRequest(grant_type="client_credentials"))
        check(again.access_token == tok.access_token, "same token until expiry")
        cfg.access_token = tok.access_token

        rate = oauth.get_rate_limit()
        check(rate.data.x_rate_limit_limit > 0, f"rate limit {rate}")

        users = onelogin.UsersV2Api(client)
        roles = onelogin.RolesApi(client)
        users_v1 = onelogin.UsersV1Api(client)

        # --- list every user, all pages, by After-Cursor
        def list_all(**kw):
            seen, cursor, pages = [], None, 0
            while True:
                r = users.list_users2_with_http_info(limit=50, cursor=cursor, **kw)
                pages += 1
                check(header(r, "Current-Page") == str(pages), "Current-Page")
                check(int(header(r, "Page-Items")) == len(r.data), "Page-Items")
                total = int(header(r, "Total-Count"))
                seen.extend(u.id for u in r.data)
                cursor = header(r, "After-Cursor")
                if not cursor:
                    check(pages == int(header(r, "Total-Pages")), "Total-Pages")
                    return seen, total

        before, total = list_all()
        check(len(before) == total, f"walked {len(before)} users, Total-Count {total}")
        check(len(set(before)) == len(before), "a user listed twice")
        out["users_before"] = len(before)

        # --- custom attribute definitions (no SDK method: SDK transport)
        attrs = raw(client, "GET", "/api/2/users/custom_attributes")
        check(isinstance(attrs, list), f"custom attributes not a bare array: {attrs!r}")
        created_attr = raw(
            client,
            "POST",
            "/api/2/users/custom_attributes",
            body={"user_field": {"name": "SDK Field", "shortname": "sdk_field"}},
        )
        check(isinstance(created_attr.get("id"), int), f"attribute create: {created_attr}")
        expect_error(
            lambda: raw(
                client,
                "POST",
                "/api/2/users/custom_attributes",
                body={"user_field": {"name": "SDK Field", "shortname": "sdk_field"}},
            ),
            422,
            "already been taken",
        )
        v1 = users_v1.get_custom_attributes()
        names = v1.data[0]
        check("sdk_field" in names, f"v1 custom attributes {v1.data}")
        check(len(names) == len(attrs) + 1, "v1 and v2 attribute counts differ")
        out["attribute_count"] = len(names)

        # --- users: create, duplicate, update, get
        created = []
        for i in range(3):
            u = users.create_user2(
                user=onelogin.User(
                    email=f"sdk.user{i}@example.net",
                    username=f"sdk.user{i}",
                    firstname="Zoë",
                    lastname=f"SDK{i}",
                    external_id=f"00usdk{i}",
                    custom_attributes={"sdk_field": f"v{i}"},
                )
            )
            check(isinstance(u.id, int), "numeric id")
            check(u.status == 7, f"no password -> status 7, got {u.status}")
            check(u.custom_attributes.get("sdk_field") == f"v{i}", "custom attribute stored")
            created.append(u.id)
        dup = expect_error(
            lambda: users.create_user2(user=onelogin.User(email="SDK.user0@example.net", username="x0")),
            422,
            "must be unique within",
        )
        check(dup.get("name") == "UnprocessableEntityError", f"duplicate shape {dup}")
        expect_error(
            lambda: users.create_user2(
                user=onelogin.User(email="n@example.net", custom_attributes={"no_such_field": "1"})
            ),
            422,
        )
        upd = users.update_user2(created[0], user=onelogin.User(department="R&D"))
        check(upd.department == "R&D", "update applied")
        check(upd.lastname == "SDK0" and upd.external_id == "00usdk0", "partial update kept fields")
        got = users.get_user2(created[1])
        check(got.email == "sdk.user1@example.net", "get by id")
        found = users.list_users2(email="sdk.user2@example.net")
        check([u.id for u in found] == [created[2]], f"email filter {found}")
        found = users.list_users2(email="sdk.user*")
        check(sorted(u.id for u in found) == sorted(created), "wildcard filter")

        # Salted SHA-256 import (v1) and a login proving the stored hash really works. The
        # SDK's typed v1 method parses the real v1 envelope as a flat Error and raises, so
        # this goes through its ApiClient.
        digest = hashlib.sha256(b"s4lt-" + b"Corr3ct horse!").hexdigest()
        res = raw(
            client,
            "PUT",
            f"/api/1/users/set_password_using_salt/{created[2]}",
            body={
                "password": digest,
                "password_confirmation": digest,
                "password_algorithm": "salt+sha256",
                "password_salt": "s4lt-",
            },
        )
        check(res["status"]["code"] == 200 and not res["status"]["error"], f"set password {res}")
        subdomain = os.environ["IDM_ONELOGIN_SUBDOMAIN"]
        login = {"username_or_email": "sdk.user2", "password": "Corr3ct horse!", "subdomain": subdomain}
        res = raw(client, "POST", "/api/1/login/auth", body=login)
        check(res["data"][0]["status"] == "Authenticated", f"login {res}")
        expect_error(
            lambda: raw(client, "POST", "/api/1/login/auth", body=dict(login, password="wrong")),
            401,
        )
        expect_error(
            lambda: raw(client, "POST", "/api/1/login/auth", body=dict(login, subdomain="not-ours")),
            400,
        )
        check(users.get_user2(created[2]).status == 1, "a password activates the user")
        out["password_user_id"] = created[2]

        after, total_after = list_all()
        check(len(after) == len(before) + 3, f"{len(after)} users after creating 3 (before {len(before)})")
        out["users_after"] = len(after)
        out["created_user_ids"] = created

        # The account owner refuses modification.
        owner = min(before)
        expect_error(
            lambda: users.update_user2(owner, user=onelogin.User(title="x")), 422, "account owner"
        )

        # --- roles and role users (raw arrays)
        role = roles.create_role(role=onelogin.Role(name="SDK Role"))
        check(isinstance(role.id, int), f"create role {role}")
        added = roles.add_role_users(str(role.id), created)
        check(sorted(a.id for a in added) == sorted(created), f"add role users {added}")
        members = roles.get_role_users(str(role.id))
        check(sorted(m.id for m in members) == sorted(created), f"role users {members}")
        roles.remove_role_users(str(role.id), [created[0]])
        members = roles.get_role_users(str(role.id))
        check(sorted(m.id for m in members) == sorted(created[1:]), "remove role users")
        listed = roles.list_roles(role_name="SDK Role")
        check([r.id for r in listed] == [role.id], f"list roles by name {listed}")
        full = roles.get_role(str(role.id))
        check(sorted(full.users) == sorted(created[1:]), f"role users in role {full}")
        u1 = users.get_user2(created[1])
        check(role.id in u1.role_ids, "role_ids on the user")
        out["role_id"] = role.id
        out["role_members"] = sorted(created[1:])
        out["role_count"] = len(roles.list_roles(limit=650))

        # --- the connector catalogue spans pages (no usable SDK method: walk by page number)
        catalogue, page = [], 1
        while True:
            batch = raw(client, "GET", "/api/2/connectors", query=[("page", str(page)), ("limit", "50")])
            check(isinstance(batch, list), f"connectors page {page} not a bare array")
            if not batch:
                break
            catalogue.extend(batch)
            page += 1
        names = {c["name"] for c in catalogue}
        check(page > 3, f"the catalogue fits in {page - 1} page(s)")
        check({"Salesforce", "Salesforce Sandbox", "Confluence", "Workday"} <= names, "near-miss names")
        check(len({c["id"] for c in catalogue}) == len(catalogue), "a connector listed twice")
        out["connectors"] = len(catalogue)

        # --- role apps: PUT replaces the set
        apps = onelogin.AppsApi(client)
        connectors = raw(client, "GET", "/api/2/connectors", query=[("name", "Bookmark")])
        check(isinstance(connectors, list) and connectors, f"connectors {connectors!r}")
        app_ids = []
        for name in ("SDK Bookmark A", "SDK Bookmark B"):
            app = raw(client, "POST", "/api/2/apps", body={"connector_id": connectors[0]["id"], "name": name})
            app_ids.append(app["id"])
        roles.set_role_apps(str(role.id), app_ids)
        roles.set_role_apps(str(role.id), [app_ids[1]])
        role_apps = roles.get_role_apps(str(role.id))
        check([a.id for a in role_apps] == [app_ids[1]], f"role apps replaced {role_apps}")
        listed_apps = apps.list_apps()
        check(all(a.id for a in listed_apps), "apps listed")
        out["role_apps"] = [app_ids[1]]

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"onelogin_sdk.py: {e}", file=sys.stderr)
        sys.exit(1)
