#!/usr/bin/env python3
"""Generate the Chinese working-day calendar data shipped with shebao-domain.

Working days (R-LS-5, R-EM-4, R-MS-3, D-3) are Monday to Friday, minus the statutory days off,
plus the weekend make-up working days (调休) that the State Council announces each year. This
script copies those exception days from two independent published packages so the Rust side
(crates/domain/src/calendar.rs) can check one against the other:

    data/calendar/cn-2005-2026.csv            the shipped calendar, from PyPI chinesecalendar
    data/calendar/chinese-days-2005-2026.csv  the cross-check copy, from npm chinese-days

How to re-run (from the repository root; the sources live in throwaway places, never in the tree):

    python3 -m venv /tmp/calvenv
    /tmp/calvenv/bin/pip install chinesecalendar==1.11.0
    mkdir -p /tmp/cdays && (cd /tmp/cdays && npm install chinese-days@1.5.7)
    /tmp/calvenv/bin/python scripts/gen-calendar.py --chinese-days /tmp/cdays/node_modules/chinese-days

The versions are pinned below; the script refuses other versions so that the known gaps and the
cross-check test in calendar.rs stay true. To move to a newer release, change the pins, re-run,
read the disagreement report this script prints, and update the known gaps in calendar.rs.

Output format (parsed by `WorkCalendar::parse_csv`):

    # years: 2005-2026                      the covered years; a year with no line below is
                                            still covered (every weekday worked, weekends off)
    YYYY-MM-DD,holiday,<English name>       a statutory day off, weekend days inside a holiday
                                            block included, so the file is a faithful copy
    YYYY-MM-DD,workday,<holiday made up for> a Saturday or Sunday worked in exchange (调休)

Known gaps. Both are weekend make-up working days that the State Council notices order worked:

    2005-12-31 (Saturday)  2006 notice, http://www.gov.cn/jrzg/2005-12/22/content_133837.htm:
                           "12月31日(星期六)上班" for New Year's Day 2006.
    2016-10-09 (Sunday)    2016 notice, http://www.gov.cn/zhengce/content/2015-12/10/content_10394.htm:
                           "10月8日（星期六）、10月9日（星期日）上班" for National Day.

A notice for year Y can reach back into the end of year Y-1 (2005-12-31 belongs to the 2006
notice), which is how such days slip through sources organised by notice year. If the shipped
source lacks a known gap, the generator adds it and says so in a comment line. The cross-check
copy stays a faithful copy of its source (nothing added), so the Rust cross-check test lists
every place where the two files differ.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

CHINESECALENDAR_VERSION = "1.11.0"
CHINESE_DAYS_VERSION = "1.5.7"
FIRST_YEAR = 2005
LAST_YEAR = 2026

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = REPO_ROOT / "data" / "calendar"
GENERATION_COMMAND = (
    "/tmp/calvenv/bin/python scripts/gen-calendar.py "
    "--chinese-days /tmp/cdays/node_modules/chinese-days"
)

# date -> (holiday made up for, the notice that orders the day worked)
KNOWN_GAPS = {
    datetime.date(2005, 12, 31): (
        "New Year's Day",
        "2006 notice http://www.gov.cn/jrzg/2005-12/22/content_133837.htm: 12月31日(星期六)上班",
    ),
    datetime.date(2016, 10, 9): (
        "National Day",
        "2016 notice http://www.gov.cn/zhengce/content/2015-12/10/content_10394.htm: "
        "10月9日（星期日）上班",
    ),
}

HOLIDAY = "holiday"
WORKDAY = "workday"


def main() -> int:
    arguments = parse_arguments()

    python_source = load_chinesecalendar()
    npm_source = load_chinese_days(Path(arguments.chinese_days))

    python_gap_notes, python_entries = apply_known_gaps(
        f"chinesecalendar {CHINESECALENDAR_VERSION}", python_source, add_missing=True
    )
    npm_gap_notes, npm_entries = apply_known_gaps(
        f"chinese-days {CHINESE_DAYS_VERSION}", npm_source, add_missing=False
    )

    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    write_calendar(
        OUTPUT_DIR / f"cn-{FIRST_YEAR}-{LAST_YEAR}.csv",
        source_line=(
            f"PyPI chinesecalendar {CHINESECALENDAR_VERSION} "
            "(chinese_calendar.constants.holidays and .workdays)"
        ),
        role_line="the shipped calendar (WorkCalendar::shipped)",
        gap_notes=python_gap_notes,
        entries=python_entries,
    )
    write_calendar(
        OUTPUT_DIR / f"chinese-days-{FIRST_YEAR}-{LAST_YEAR}.csv",
        source_line=(
            f"npm chinese-days {CHINESE_DAYS_VERSION} "
            "(dist/chinese-days.json, maps holidays and workdays; its data covers 2004-2026)"
        ),
        role_line="the cross-check copy, compared day by day with cn-2005-2026.csv in calendar.rs tests",
        gap_notes=npm_gap_notes,
        entries=npm_entries,
    )

    report_disagreements(python_entries, npm_entries)
    return 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chinese-days",
        default="/tmp/cdays/node_modules/chinese-days",
        help="the installed npm package directory (default: %(default)s)",
    )
    return parser.parse_args()


def load_chinesecalendar() -> dict[datetime.date, tuple[str, str]]:
    """Exception days from chinesecalendar, as date -> (kind, name)."""
    try:
        import chinese_calendar
        from chinese_calendar import constants
    except ImportError:
        sys.exit("chinesecalendar is not importable: run this script with /tmp/calvenv/bin/python")
    version = getattr(chinese_calendar, "__version__", "unknown")
    if version != CHINESECALENDAR_VERSION:
        sys.exit(f"chinesecalendar {version} found, {CHINESECALENDAR_VERSION} pinned")
    return merge_source(
        "chinesecalendar",
        holidays={day: name for day, name in constants.holidays.items()},
        workdays={day: name for day, name in constants.workdays.items()},
    )


def load_chinese_days(package_dir: Path) -> dict[datetime.date, tuple[str, str]]:
    """Exception days from chinese-days, as date -> (kind, name)."""
    package = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    if package.get("version") != CHINESE_DAYS_VERSION:
        sys.exit(f"chinese-days {package.get('version')} found, {CHINESE_DAYS_VERSION} pinned")
    data = json.loads((package_dir / "dist" / "chinese-days.json").read_text(encoding="utf-8"))

    # Values look like "Spring Festival,春节,4": English name, Chinese name, holiday number.
    def english(value: str) -> str:
        return value.split(",")[0].strip()

    return merge_source(
        "chinese-days",
        holidays={datetime.date.fromisoformat(day): english(v) for day, v in data["holidays"].items()},
        workdays={datetime.date.fromisoformat(day): english(v) for day, v in data["workdays"].items()},
    )


def merge_source(
    source: str,
    holidays: dict[datetime.date, str],
    workdays: dict[datetime.date, str],
) -> dict[datetime.date, tuple[str, str]]:
    """One map of the covered years, refusing data the Rust parser would refuse anyway."""
    entries: dict[datetime.date, tuple[str, str]] = {}
    for day, name in holidays.items():
        if FIRST_YEAR <= day.year <= LAST_YEAR:
            entries[day] = (HOLIDAY, name)
    for day, name in workdays.items():
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            continue
        if day in entries:
            sys.exit(f"{source}: {day} is both a holiday and a make-up working day")
        if day.weekday() < 5:
            sys.exit(f"{source}: make-up working day {day} is not a Saturday or Sunday")
        entries[day] = (WORKDAY, name)
    for day, (_, name) in entries.items():
        if not name or "," in name or "\n" in name:
            sys.exit(f"{source}: {day} has a name the CSV cannot hold: {name!r}")
    return entries


def apply_known_gaps(
    source: str,
    entries: dict[datetime.date, tuple[str, str]],
    add_missing: bool,
) -> tuple[list[str], dict[datetime.date, tuple[str, str]]]:
    """Check the known gaps in one source; add the missing ones when asked. Returns notes."""
    entries = dict(entries)
    notes = []
    for day, (made_up_for, notice) in sorted(KNOWN_GAPS.items()):
        label = f"{day} ({day.strftime('%A')}) workday for {made_up_for}, {notice}"
        found = entries.get(day)
        if found == (WORKDAY, made_up_for):
            notes.append(f"{label}: {source} lists it.")
        elif found is not None:
            sys.exit(f"{source} says {found} for {day}, which contradicts the notice")
        elif add_missing:
            entries[day] = (WORKDAY, made_up_for)
            notes.append(f"{label}: {source} LACKS it; ADDED to this file by the generator.")
        else:
            notes.append(
                f"{label}: {source} LACKS it; not added (faithful copy), "
                "the cross-check test lists it as a known gap."
            )
    return notes, entries


def write_calendar(
    path: Path,
    source_line: str,
    role_line: str,
    gap_notes: list[str],
    entries: dict[datetime.date, tuple[str, str]],
) -> None:
    lines = [
        "# Chinese working-day calendar: statutory days off and weekend make-up working days (调休).",
        f"# source: {source_line}",
        f"# role: {role_line}",
        f"# generated by: {GENERATION_COMMAND}",
        "#   (venv and npm set-up: see the docstring of scripts/gen-calendar.py; do not edit by hand)",
        f"# years: {FIRST_YEAR}-{LAST_YEAR}",
        "# format: YYYY-MM-DD,holiday,<name> is a day off (weekend days inside a holiday block included);",
        "#         YYYY-MM-DD,workday,<name of the holiday it makes up for> is a Saturday or Sunday worked.",
        "#         Any other Monday-Friday of a covered year is a working day, any other weekend day is not.",
        "# known gaps (make-up working days the State Council notices order worked):",
    ]
    lines += [f"#   {note}" for note in gap_notes]
    for day in sorted(entries):
        kind, name = entries[day]
        lines.append(f"{day.isoformat()},{kind},{name}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(REPO_ROOT)}: {len(entries)} exception days", file=sys.stderr)


def report_disagreements(
    python_entries: dict[datetime.date, tuple[str, str]],
    npm_entries: dict[datetime.date, tuple[str, str]],
) -> None:
    """Print every date where the two written files differ, and whether it changes working days."""
    for day in sorted(set(python_entries) | set(npm_entries)):
        python_entry = python_entries.get(day)
        npm_entry = npm_entries.get(day)
        if python_entry == npm_entry:
            continue
        changes_working_day = is_working_day(day, python_entry) != is_working_day(day, npm_entry)
        print(
            f"differ {day} {day.strftime('%a')}: cn={python_entry} chinese-days={npm_entry}"
            f"{' (changes the working day)' if changes_working_day else ' (same working day status)'}",
            file=sys.stderr,
        )


def is_working_day(day: datetime.date, entry: tuple[str, str] | None) -> bool:
    if entry is None:
        return day.weekday() < 5
    return entry[0] == WORKDAY


if __name__ == "__main__":
    sys.exit(main())
