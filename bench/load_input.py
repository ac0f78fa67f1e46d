#!/usr/bin/env python3
"""Mapped records for idm-load benchmarks: USERS users, GROUPS roles, ~3 memberships per user.

usage: load_input.py USERS GROUPS [APPS CONNECTOR_ID] > input.ndjson
"""
import json
import sys


def rec(kind, rid, data):
    return json.dumps({"kind": kind, "source": "okta", "id": rid, "data": data, "target": "onelogin"},
                      separators=(",", ":"))


def main():
    users, groups = int(sys.argv[1]), int(sys.argv[2])
    apps = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    connector = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    out = sys.stdout
    for g in range(groups):
        out.write(rec("group", f"00gbench{g:04}", {"name": f"Bench Role {g}"}) + "\n")
    for i in range(users):
        out.write(rec("user", f"00ubench{i:07}", {
            "email": f"bench.user{i}@example.org", "username": f"bench.user{i}",
            "firstname": f"First{i}", "lastname": f"Last{i}", "title": "Engineer",
            "department": f"Dept {i % 7}", "external_id": f"00ubench{i:07}", "state": 1, "status": 1,
        }) + "\n")
    for i in range(users):
        for k in range(min(3, groups)):
            g = (i * 7 + k) % groups
            gid, uid = f"00gbench{g:04}", f"00ubench{i:07}"
            out.write(rec("membership", f"{gid}/{uid}", {"group_id": gid, "user_id": uid}) + "\n")
    for a in range(apps):
        aid, gid = f"0oabench{a:04}", f"00gbench{a % groups:04}"
        out.write(rec("app", aid, {"connector_id": connector, "name": f"Bench App {a}", "visible": True}) + "\n")
        out.write(rec("app_assignment", f"{aid}/{gid}", {"id": gid, "app_id": aid, "group_id": gid}) + "\n")


if __name__ == "__main__":
    main()
