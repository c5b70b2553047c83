#!/usr/bin/env python3
"""make demo: a unit's clerk fixes the rows its validation report lists as errors.

Usage: demo-fix.py UNIT_FOLDER REPORT.json  (REPORT from `sealgate validate --format json`)

Stands in for the person who looks each member up and corrects the record: a 9-digit legacy
id gets the member's 12-digit CCCD (made up here, consistent with gender and birth year), a
wrong century digit is corrected, an admission before 18 gets the date from the member's file
(here: 25 years after birth), a member's unknown org gets the unit's first cell. Anything else
is left for the validator to report again.
"""
import csv
import json
import random
import sys

folder, report = sys.argv[1], sys.argv[2]
findings = [f for f in json.load(open(report, encoding="utf-8"))["findings"]
            if f["severity"] == "error" and f["file"] == "members.csv"]
path = f"{folder}/members.csv"
with open(path, encoding="utf-8-sig", newline="") as fh:
    rows = list(csv.reader(fh))
header = rows[0]
col = {name: i for i, name in enumerate(header)}
orgs = list(csv.DictReader(open(f"{folder}/organizations.csv", encoding="utf-8-sig")))
first_cell = next((o["org_id"] for o in orgs if o["type"] == "cell"), orgs[-1]["org_id"])
rng = random.Random(len(rows))


def century_digit(gender, year):
    base = {19: 0, 20: 2, 21: 4}.get(year // 100, 0)
    return str(base + (1 if gender == "female" else 0))


fixed = 0
for f in findings:
    r = rows[f["line"] - 1]
    gender = r[col["gender"]].strip().lower()
    gender = "female" if gender in ("female", "nữ", "f") else "male"
    dob = r[col["date_of_birth"]].strip()
    year = int(dob[:4]) if dob[:4].isdigit() else 1980
    rule = f["rule"]
    if rule in ("citizen_id.legacy_cmnd", "citizen_id.century_digit", "citizen_id.birth_year"):
        tail = r[col["citizen_id"]].replace(" ", "")[-6:] if rule != "citizen_id.legacy_cmnd" else f"{rng.randrange(10**6):06d}"
        r[col["citizen_id"]] = "079" + century_digit(gender, year) + f"{year % 100:02d}" + tail
    elif rule in ("date_joined.under_18", "date_official.too_early"):
        joined = f"{year + 25}{dob[4:10]}" if len(dob) >= 10 else f"{year + 25}-06-01"
        r[col["date_joined"]] = joined
        if r[col["status"]].strip().lower() in ("official", "chính thức"):
            r[col["date_official"]] = f"{year + 26}{joined[4:10]}"
    elif rule == "member_org.unknown":
        r[col["org_id"]] = first_cell
    else:
        continue
    fixed += 1

with open(path, "w", encoding="utf-8", newline="") as fh:
    csv.writer(fh, lineterminator="\n").writerows(rows)
print(f"  {folder.split('/')[-1]}: fixed {fixed} of {len(findings)} error row(s)")
