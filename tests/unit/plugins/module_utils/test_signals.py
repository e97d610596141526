# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog, _signals


def test_every_technique_of_the_catalog_has_one_row_and_no_row_is_extra():
    assert sorted(_signals.SIGNALS) == sorted(t["id"] for t in _catalog.TECHNIQUES)


@pytest.mark.parametrize("technique_id", sorted(_signals.SIGNALS))
def test_every_event_has_the_documented_shape(technique_id):
    events = _signals.SIGNALS[technique_id]
    assert events, technique_id
    for event in events:
        kind = event["event"]
        assert kind in ("exec", "open", "connect"), event
        if kind == "exec":
            assert set(event) == {"event", "argv"} and event["argv"] and all(isinstance(a, str) for a in event["argv"])
        elif kind == "open":
            assert set(event) == {"event", "path"} and event["path"].startswith(("/", "<"))
        else:
            assert set(event) == {"event", "address", "port"} and isinstance(event["port"], int)


def test_no_token_or_run_specific_value_is_written_in_the_table():
    # Run-specific values are placeholders: a JWT or a base64 payload in the table would be a leak or a stale value.
    text = repr(_signals.SIGNALS)
    assert "eyJ" not in text
    assert not re.search(r"[A-Za-z0-9+/]{60,}", text)


def test_an_unknown_technique_is_named():
    with pytest.raises(KeyError, match="crypto.nothing"):
        _signals.signals("crypto.nothing")
