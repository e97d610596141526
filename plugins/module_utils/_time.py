# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time, one home: read ISO 8601 timestamps (ARM's, the reports', the claim's), write them in UTC.

Every timestamp the collection writes is UTC with a Z: to the second (``format_time``) for run and claim
times, with milliseconds (``format_time_ms``) for technique windows that are matched against kernel events.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import datetime, timedelta, timezone

UTC = timezone.utc

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$", re.IGNORECASE)


def utcnow(seconds_only=False):
    """Now, as an aware UTC datetime; ``seconds_only`` drops the fraction (for times written to the second)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=0) if seconds_only else now


def parse_time(value):
    """An aware UTC datetime from an ISO 8601 string (ARM writes 7 fractional digits), a datetime, or None.

    A timestamp without an offset is taken as UTC. ValueError names the value it could not read, a time outside
    the years 1 to 9999 once in UTC (``0001-01-01T00:00:00+01:00``) included."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    match = _ISO.match(str(value))
    if not match:
        raise ValueError("%r is not an ISO 8601 timestamp (expected e.g. 2026-11-28T10:15:00Z)" % (value,))
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, UTC)
        if offset and offset.upper() != "Z":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            parsed -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    except (ValueError, OverflowError) as exc:  # day 31 of a short month; a moment before year 1 or after 9999
        raise ValueError("%r is not a valid time: %s" % (value, exc))
    return parsed


def parse_time_or_none(value):
    """``parse_time``, with None for a value that is not a timestamp (an annotation someone edited)."""
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        return None


def format_time(value):
    """ISO 8601 in UTC with a Z, to the second, or None."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def format_time_ms(value):
    """ISO 8601 UTC with milliseconds and a Z (``2026-11-28T10:00:00.123Z``) from epoch seconds (a number or
    its text), a datetime (naive is UTC), or an ISO string that is not a number (returned as given); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            return str(value)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)
