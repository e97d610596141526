# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a run's report files on the controller, in the worker: one task instead of a file task and a copy per file
(each copy is two module runs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.defender.attack_simulation.plugins.plugin_utils._in_process import ModuleAction

ARGUMENT_SPEC = dict(
    dest=dict(type="path", required=True),
    files=dict(type="list", elements="dict", required=True, options=dict(
        name=dict(type="str", required=True),
        content=dict(type="str", required=True),
    )),
    mode=dict(type="raw", default="0644"),
    dir_mode=dict(type="raw", default="0755"),
)


def file_mode(value, option):
    """An octal mode given as a string ("0644") or a number (0o644 read by YAML as 420)."""
    try:
        return int(value, 8) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise AnsibleActionFail("report_files: %s %r is not an octal file mode such as \"0644\"" % (option, value))


def checked_name(name):
    if not name or "/" in name or name in (".", ".."):
        raise AnsibleActionFail("report_files: file name %r must be a plain file name, without a folder" % name)
    return name


def has_content(path, data):
    try:
        with open(path, "rb") as existing:
            return existing.read() == data
    except (IOError, OSError):
        return False


def write_atomically(path, data, mode):
    """A temporary file beside ``path``, renamed over it: a reader sees the old report or the new one, whole."""
    folder, name = os.path.split(path)
    handle, temporary = tempfile.mkstemp(prefix=".%s." % name, dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class ActionModule(ModuleAction):
    def run(self, tmp=None, task_vars=None):
        result = super(ModuleAction, self).run(tmp, task_vars)  # ActionBase's checks; there is no module to run
        params = self.validated_args(ARGUMENT_SPEC)
        dest, mode = params["dest"], file_mode(params["mode"], "mode")
        files = [(os.path.join(dest, checked_name(f["name"])), to_bytes(f["content"])) for f in params["files"]]
        written = [path for path, data in files if not has_content(path, data)]
        if not self._task.check_mode:
            try:
                if not os.path.isdir(dest):
                    os.makedirs(dest, file_mode(params["dir_mode"], "dir_mode"))
                for path, data in files:
                    if path in written:
                        write_atomically(path, data, mode)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail("report_files: cannot write the report in %s: %s" % (dest, exc))
        result.update(changed=bool(written), paths=[path for path, _data in files], written=written)
        return result
