"""A migration *into* Okta through the official Okta Python SDK (okta 3.x), against idm-sandbox.

Run by tests/sdk_okta.rs on an empty org. Reads IDM_OKTA_URL and IDM_OKTA_TOKEN, and from the
JSON file named by argv[1] the hash objects to import (computed by the Rust side with
idm::password, one per Okta algorithm). Through the SDK's own models it adds custom schema
properties, creates groups (and renames one), creates STAGED users with imported hashes and
groupIds, activates them without an email, suspends/unsuspends/deactivates one, creates a
bookmark, a SAML 2.0 and an OIDC app and assigns groups to them, then deletes a group. Prints
one JSON line with the ids it made; the Rust side checks sign-ins and the dump. Any failure
is printed and the exit code is 1.
"""

import asyncio
import json
import os
import sys

os.environ.setdefault("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")

from okta.client import Client  # noqa: E402
from okta.models import (  # noqa: E402
    AddGroupRequest,
    ApplicationGroupAssignment,
    BookmarkApplication,
    CreateUserRequest,
    OpenIdConnectApplication,
    SamlApplication,
    UserSchema,
)

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)


async def call(coro):
    """The error of an SDK call; calls without a response body return `(resp, err)` on
    error but `(None, resp, err)` on success, so only the last element is relied on."""
    res = await coro
    return res[-1]


def status_of(x):
    s = getattr(x, "status", None)
    return getattr(s, "value", s)


async def main():
    given = json.load(open(sys.argv[1], encoding="utf-8"))
    client = Client({"orgUrl": os.environ["IDM_OKTA_URL"], "token": os.environ["IDM_OKTA_TOKEN"]})
    out = {"users": {}}

    schema = UserSchema.from_dict({"definitions": {"custom": {"id": "#custom", "type": "object", "properties": {
        "employeeId": {"title": "Employee id", "type": "string", "maxLength": 20},
        "isContractor": {"title": "Contractor", "type": "boolean"},
        "badge": {"title": "Badge", "type": "integer"},
    }}}})
    # (no array property: the SDK's UserSchemaAttribute model has no `items`, so it cannot
    # send the item type an array needs — the reference advises serializing those by hand)
    updated, _, err = await client.update_user_profile("default", schema)
    check(err is None, f"update_user_profile: {err}")
    if err is None:
        custom = sorted((updated.definitions.custom.properties or {}).keys())
        check(custom == ["badge", "employeeId", "isContractor"], f"schema custom {custom}")

    groups = {}
    for name in ["Engineering", "Sales", "To Delete"]:
        g, _, err = await client.add_group(AddGroupRequest.from_dict({"profile": {"name": name}}))
        check(err is None, f"add_group {name}: {err}")
        if err is None:
            groups[name] = g.id
    err = await call(client.add_group(AddGroupRequest.from_dict({"profile": {"name": "engineering"}})))
    check(err is not None and "E0000001" in str(err), f"duplicate group name: {err}")
    renamed, _, err = await client.replace_group(
        groups["Sales"], AddGroupRequest.from_dict({"profile": {"name": "Sales EMEA", "description": "renamed"}}))
    check(err is None and renamed.profile.actual_instance.name == "Sales EMEA", f"replace_group: {err}")

    for name, hash_obj in given["hashes"].items():
        login = f"{name}.user@example.com"
        body = CreateUserRequest.from_dict({
            "profile": {"firstName": "Imported", "lastName": name.upper(), "email": login, "login": login,
                        "employeeId": f"E-{name}", "badge": 7},
            "groupIds": [groups["Engineering"]],
            "credentials": {"password": {"hash": hash_obj}},
        })
        user, _, err = await client.create_user(body, activate=False)
        check(err is None, f"create_user {name}: {err}")
        if err is not None:
            continue
        check(status_of(user) == "STAGED", f"{name}: {status_of(user)}")
        check(user.credentials.provider.type.value == "IMPORT", f"{name}: provider")
        token, _, err = await client.activate_user(user.id, send_email=False)
        check(err is None and token.activation_token, f"activate_user {name}: {err}")
        out["users"][name] = {"id": user.id, "login": login}

    victim = out["users"].get("sha1", {}).get("id")
    if victim:
        for op in ("suspend_user", "unsuspend_user"):
            err = await call(getattr(client, op)(victim))
            check(err is None, f"{op}: {err}")
        err = await call(client.suspend_user(out["users"]["md5"]["id"]))
        check(err is None, f"suspend md5: {err}")
        err = await call(client.unsuspend_user(victim))
        check(err is not None and "E0000038" in str(err), f"unsuspend an ACTIVE user: {err}")
        err = await call(client.activate_user(victim, send_email=False))
        check(err is not None and "E0000016" in str(err), f"activate an ACTIVE user: {err}")
        err = await call(client.deactivate_user(out["users"]["sha512"]["id"]))
        check(err is None, f"deactivate_user: {err}")

    bookmark, _, err = await client.create_application(BookmarkApplication.from_dict({
        "name": "bookmark", "label": "Team Wiki", "signOnMode": "BOOKMARK",
        "settings": {"app": {"url": "https://wiki.example.com/", "requestIntegration": False}}}))
    check(err is None and bookmark.id.startswith("0oa"), f"create bookmark: {err}")
    saml, _, err = await client.create_application(SamlApplication.from_dict({
        "label": "Expense Portal", "signOnMode": "SAML_2_0",
        "settings": {"signOn": {
            "ssoAcsUrl": "https://expenses.example.com/acs", "audience": "https://expenses.example.com",
            "recipient": "https://expenses.example.com/acs", "destination": "https://expenses.example.com/acs",
            "subjectNameIdTemplate": "${user.userName}",
            "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "responseSigned": True, "assertionSigned": True, "signatureAlgorithm": "RSA_SHA256",
            "digestAlgorithm": "SHA256", "honorForceAuthn": False, "authnContextClassRef":
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "requestCompressed": False, "allowMultipleAcsEndpoints": False}}}))
    check(err is None, f"create SAML app: {err}")
    oidc, _, err = await client.create_application(OpenIdConnectApplication.from_dict({
        "name": "oidc_client", "label": "Customer Portal", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic"}},
        "settings": {"oauthClient": {"grant_types": ["authorization_code", "refresh_token"],
                                     "response_types": ["code"], "application_type": "web",
                                     "redirect_uris": ["https://portal.example.com/cb"]}}}))
    check(err is None, f"create OIDC app: {err}")
    err = await call(client.create_application(OpenIdConnectApplication.from_dict({
        "name": "oidc_client", "label": "Broken Portal", "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {}}, "settings": {"oauthClient": {"grant_types": []}}})))
    check(err is not None and "E0000001" in str(err), f"OIDC without grant types: {err}")

    apps = [a for a in (bookmark, saml, oidc) if a is not None]
    for app in apps:
        for gname in ("Engineering", "Sales"):
            assignment = ApplicationGroupAssignment.from_dict({"priority": 0})
            a, _, err = await client.assign_group_to_application(app.id, groups[gname], assignment)
            check(err is None and a.id == groups[gname], f"assign {gname} to {app.label}: {err}")
        assigned, _, err = await client.list_application_group_assignments(app.id)
        check(err is None and len(assigned or []) == 2, f"{app.label}: {len(assigned or [])} assignments")
    if apps:
        err = await call(client.unassign_application_from_group(apps[0].id, groups["Sales"]))
        check(err is None, f"unassign: {err}")
    out["apps"] = {a.label: a.id for a in apps}

    err = await call(client.delete_group(groups["To Delete"]))
    check(err is None, f"delete_group: {err}")
    out["groups"] = groups

    if FAILURES:
        for f in FAILURES:
            print(f"okta_target_sdk.py: {f}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out))


asyncio.run(main())
