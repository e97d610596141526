# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report files: written whole into a folder that may not exist yet, left alone when unchanged, nothing in check
mode, and names that would leave the folder refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.defender.attack_simulation.plugins.action import report_files


class FakeTask:
    def __init__(self, args, check_mode=False):
        self.action = self.resolved_action = "defender.attack_simulation.report_files"
        self.args = args
        self.check_mode = check_mode
        self.async_val = 0


def run(args, check_mode=False):
    plugin = report_files.ActionModule.__new__(report_files.ActionModule)
    plugin._task = FakeTask(args, check_mode)
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}):
        return plugin.run(task_vars={})


FILES = [{"name": "run.json", "content": '{"outcome": "passed"}\n'}, {"name": "run.md", "content": "# Run\n"}]


def test_the_files_are_written_into_a_new_folder_with_their_modes(tmp_path):
    dest = tmp_path / "reports" / "nightly"
    result = run(dict(dest=str(dest), files=FILES, mode="0640"))
    assert result["changed"] is True
    assert result["paths"] == [str(dest / "run.json"), str(dest / "run.md")]
    assert (dest / "run.json").read_text() == '{"outcome": "passed"}\n'
    assert stat.S_IMODE(os.stat(str(dest / "run.md")).st_mode) == 0o640
    assert sorted(os.listdir(str(dest))) == ["run.json", "run.md"]  # no temporary file left beside them


def test_unchanged_files_are_left_alone_and_a_changed_one_is_replaced(tmp_path):
    run(dict(dest=str(tmp_path), files=FILES))
    again = run(dict(dest=str(tmp_path), files=FILES))
    assert again["changed"] is False and again["written"] == []
    changed = run(dict(dest=str(tmp_path), files=[dict(FILES[0], content='{"outcome": "failed"}\n'), FILES[1]]))
    assert changed["written"] == [str(tmp_path / "run.json")]
    assert (tmp_path / "run.json").read_text() == '{"outcome": "failed"}\n'


def test_check_mode_writes_nothing_and_says_what_would_change(tmp_path):
    result = run(dict(dest=str(tmp_path / "reports"), files=FILES), check_mode=True)
    assert result["changed"] is True and len(result["written"]) == 2
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("name", ["../outside.json", "sub/run.json", "..", ""])
def test_a_name_that_leaves_the_folder_is_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(AnsibleActionFail, match="plain file name"):
        run(dict(dest=str(tmp_path / "reports"), files=[FILES[0], {"name": name, "content": "x"}]))
    assert not (tmp_path / "reports").exists()


def test_a_folder_that_cannot_be_written_is_named_in_the_error(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(AnsibleActionFail, match="cannot write the report in %s" % blocker):
        run(dict(dest=str(blocker), files=FILES))


def test_a_mode_that_is_not_octal_is_refused(tmp_path):
    with pytest.raises(AnsibleActionFail, match="not an octal file mode"):
        run(dict(dest=str(tmp_path), files=FILES, mode="rw-r--r--"))
