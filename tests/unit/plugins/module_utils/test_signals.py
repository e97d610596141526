# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog, _signals

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "techniques", "files")


def test_every_technique_of_the_catalog_has_one_row_and_no_row_is_extra():
    assert sorted(_signals.SIGNALS) == sorted(t["id"] for t in _catalog.TECHNIQUES)


def expand_assignments(text):
    """The script with each plain assignment (name="...") written out where $name is used, as the shell expands it."""
    for name, value in re.findall(r'^\s*([a-z_]+)="([^"]*)"\s*$', text, re.MULTILINE):
        text = re.sub(r"\$%s\b" % name, lambda _match, value=value: value, text)
    return text


ROWS = [(technique_id, cloud) for cloud in _signals.CLOUDS for technique_id in sorted(_signals.SIGNALS)]


@pytest.mark.parametrize("technique_id, cloud", ROWS)
def test_every_event_has_the_documented_shape(technique_id, cloud):
    events = _signals.signals(technique_id, cloud)
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
    text = repr(_signals.SIGNALS) + repr(_signals.CLOUD_SIGNALS)
    assert "eyJ" not in text
    assert not re.search(r"[A-Za-z0-9+/]{60,}", text)


@pytest.mark.parametrize("technique_id, cloud", [row for row in ROWS if row[0] != "webshell.whoami"])
def test_every_program_of_a_row_is_named_in_the_technique_script(technique_id, cloud):
    """The scripts are what run in the victim: each program of the row (its name and its literal arguments,
    in order) must be written in the technique's script, the delivery's three aside."""
    with open(os.path.join(SCRIPTS, technique_id.replace(".", "/") + ".sh"), encoding="utf-8") as script:
        text = expand_assignments(script.read())
    for event in _signals.signals(technique_id, cloud)[len(_signals.DELIVERY):]:
        if event["event"] != "exec":
            continue
        position = 0
        for word in event["argv"]:
            literal = re.split(r"<[a-z_0-9]+\??>", word)[0]
            if not literal:
                continue  # a run-specific value from the start (a path found at run time): nothing literal to find
            found = text.find(literal, position)
            assert found >= 0, "%s: %r of %s is not in the script in that order" % (technique_id, word, event["argv"])
            position = found + len(literal)


def test_an_unknown_technique_is_named():
    with pytest.raises(KeyError, match="crypto.nothing"):
        _signals.signals("crypto.nothing")


def test_an_unknown_cloud_is_named_with_the_known_ones():
    with pytest.raises(KeyError, match="'openstack'.*none, azure, aws, gcp"):
        _signals.signals("lateral_movement.metadata_token", "openstack")


def test_only_the_metadata_techniques_change_with_the_cloud_and_each_cloud_keeps_its_branch():
    for cloud in ("azure", "aws", "gcp"):
        assert sorted(_signals.CLOUD_SIGNALS[cloud]) == ["lateral_movement.metadata_token", "secrets.cloud_secret_env"]
    assert _signals.signals("crypto.ld_so_preload", "aws") == _signals.SIGNALS["crypto.ld_so_preload"]

    def programs(cloud):
        return [" ".join(e["argv"][:4]) for e in _signals.signals("lateral_movement.metadata_token", cloud)
                if e["event"] == "exec"]
    # The original's branches: GCP stops at its token; AWS never asks Azure; Azure and no cloud never list roles.
    assert not any("PUT" in p for p in programs("gcp"))
    assert not any("Metadata:true" in p for p in programs("aws"))
    assert not any("security-credentials" in p for c in ("azure", "none") for p in programs(c))
    assert ["head -c 30"] == [p for p in programs("azure") if p.startswith("head")]
    assert not any(p.startswith("head") for p in programs("none"))
