# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _time


@pytest.mark.parametrize("text, expected", [
    ("2026-11-28T10:15:31.1234567Z", "2026-11-28T10:15:31.123456+00:00"),
    ("2026-11-28T11:15:31+01:00", "2026-11-28T10:15:31+00:00"),
    ("2026-11-28T10:15:31", "2026-11-28T10:15:31+00:00"),
])
def test_parse_time_reads_arm_and_report_timestamps(text, expected):
    assert _time.parse_time(text).isoformat() == expected


def test_parse_time_names_a_bad_value():
    with pytest.raises(ValueError, match="yesterday"):
        _time.parse_time("yesterday")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-02-31T10:00:00Z"])
def test_parse_time_refuses_a_time_out_of_range_with_a_value_error(value):
    # A moment before year 1 or after 9999 once in UTC overflowed datetime (OverflowError, not ValueError).
    with pytest.raises(ValueError, match="is not a valid time"):
        _time.parse_time(value)


def test_format_time_ms():
    assert _time.format_time_ms(1795860000.5) == "2026-11-28T10:00:00.500Z"
    assert _time.format_time_ms("1795860000.123456") == "2026-11-28T10:00:00.123Z"
    assert _time.format_time_ms("2026-11-28T10:00:00Z") == "2026-11-28T10:00:00Z"
    assert _time.format_time_ms(None) is None


def test_format_time_is_utc_to_the_second():
    moment = _time.parse_time("2026-11-28T11:15:31.9+01:00")
    assert _time.format_time(moment) == "2026-11-28T10:15:31Z"
    assert _time.format_time(None) is None


@pytest.mark.parametrize("value", ["", None, "yesterday", 42, "0001-01-01T00:00:00+01:00"])
def test_parse_time_or_none_never_raises(value):
    assert _time.parse_time_or_none(value) is None
