#!/usr/bin/env python3
"""Deterministic generator of mapped (target onelogin) records for the benchmarks.

usage: gen_mapped.py USERS [GROUPS] > mapped.ndjson

Writes GROUPS groups (default 50), USERS users with 0-6 custom attributes each (12 distinct
shortnames, some values with commas, quotes, newlines and unicode), then ~3 memberships per
user, in the order idm-map writes them. Same arguments, same bytes.
"""
import json
import random
import sys

users = int(sys.argv[1])
groups = int(sys.argv[2]) if len(sys.argv) > 2 else 50
rng = random.Random(42)
attrs = ["cost_center", "employee_number", "division", "manager_email", "building",
         "floor", "desk", "badge", "shift", "region_code", "hire_date", "nickname"]
values = ["plain", "comma, inside", 'quote " inside', "line\nbreak", "Zoë 東京", "", "=1+1"]
out = sys.stdout
w = out.write
for g in range(groups):
    w(json.dumps({"kind": "group", "source": "okta", "id": "00g%06d" % g,
                  "data": {"name": "Group %d" % g}, "target": "onelogin"},
                 separators=(",", ":")) + "\n")
for i in range(users):
    uid = "00u%09d" % i
    custom = {}
    for a in rng.sample(attrs, rng.randint(0, 6)):
        custom[a] = values[rng.randrange(len(values))] if a == "nickname" else "%s-%d" % (a, rng.randrange(1000))
    data = {"firstname": "First%d" % i, "lastname": "Last, %d" % i,
            "email": "user%d@example.com" % i, "username": "user%d@example.com" % i,
            "phone": "+1555%07d" % i, "company": "Acme", "department": "Dept %d" % (i % 40),
            "title": "Engineer", "status": 1, "state": 1, "external_id": uid}
    if custom:
        data["custom_attributes"] = custom
    w(json.dumps({"kind": "user", "source": "okta", "id": uid, "data": data,
                  "target": "onelogin"}, separators=(",", ":")) + "\n")
for i in range(users):
    uid = "00u%09d" % i
    for g in rng.sample(range(groups), rng.randint(1, 5) if groups >= 5 else 1):
        gid = "00g%06d" % g
        w(json.dumps({"kind": "membership", "source": "okta", "id": gid + "/" + uid,
                      "data": {"group_id": gid, "user_id": uid}, "target": "onelogin"},
                     separators=(",", ":")) + "\n")
