# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one of this collection's modules inside the controller's worker instead of as a new Python process.

Every cluster of a run is a host with ``connection: local``: a module run there is a new Python process on the
controller that imports the kubernetes client again (about a second of CPU), which is what bounds a fleet. The
action plugin of a module runs the module's own ``execute_module`` with the same validated arguments in the worker
process, which inherited the kubernetes client from the controller's main process. On any other connection it runs
the module as usual, on the target.

A module that runs this way has ``argument_spec()`` and ``execute_module(module)``, and uses only ``params``,
``check_mode``, ``exit_json``, ``fail_json`` and ``warn`` of its module object."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import failures_told

# Imported when the controller's main process loads an action plugin (the strategy does, once per task): the
# workers it forks for each host inherit the kubernetes client instead of importing it again.
try:
    import kubernetes.client  # noqa: F401  pylint: disable=unused-import
    # The pinned kubernetes client (37) imports its API classes and their models on first use, ~1 s of CPU: here, once.
    from kubernetes.client import (  # noqa: F401  pylint: disable=unused-import
        AuthorizationV1Api, CoreV1Api, NetworkingV1Api, V1DeleteOptions, V1Preconditions,
    )
    import kubernetes.stream  # noqa: F401  pylint: disable=unused-import
    import kubernetes.watch  # noqa: F401  pylint: disable=unused-import
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client  # noqa: F401  pylint: disable=unused-import
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False
# Every object the main process holds now (ansible, the kubernetes client, the play) lives until it exits: out of the
# collector's reach, the collections in a forked worker do not touch, and so do not copy, their memory pages.
gc.freeze()

LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")


class _Exited(BaseException):
    """exit_json and fail_json: a BaseException, as AnsibleModule's SystemExit is, so no except Exception stops it."""

    def __init__(self, result):
        super(_Exited, self).__init__("module exited")
        self.result = result


class InProcessModule(object):
    """The part of AnsibleModule a module of this collection uses, for a run in the worker."""

    def __init__(self, params, check_mode):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **result):
        raise _Exited(result)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise _Exited(result)

    def run(self, execute_module):
        try:
            with failures_told(self):
                execute_module(self)
        except _Exited as exited:
            result = exited.result
        else:
            result = dict(failed=True, msg="the module ended without a result")
        if self.warnings:
            result["warnings"] = result.get("warnings", []) + self.warnings
        result.setdefault("changed", False)
        return result


class ModuleAction(ActionBase):
    """The action plugin of a module that can run in the worker: set MODULE to the module's Python module."""

    TRANSFERS_FILES = False
    _requires_connection = False
    MODULE = None

    def _with_module_defaults(self, args):
        try:
            from ansible.executor.module_common import get_action_args_with_defaults
        except ImportError:  # ansible-core 2.19+ merges module_defaults into the task's args itself
            return args
        return get_action_args_with_defaults(self._task.resolved_action, args, self._task.module_defaults,
                                             self._templar, action_groups=self._task._parent._play._action_groups)

    def validated_args(self, spec):
        """The task's arguments (module_defaults included) checked and typed by ``spec``, as AnsibleModule would."""
        result = ArgumentSpecValidator(spec).validate(self._with_module_defaults(dict(self._task.args)))
        if result.error_messages:
            raise AnsibleActionFail("%s: %s" % (self._task.action, "; ".join(result.error_messages)))
        return result.validated_parameters

    def apply_task_environment(self):
        """The task's environment keyword in this worker's environment, where a module would have it (K8S_AUTH_*
        for kubernetes.core's client). The worker is forked for this one task: nothing outlives it."""
        layers = self._task.environment or []
        for layer in [layers] if isinstance(layers, dict) else layers:
            for key, value in (self._templar.template(layer) or {}).items():
                if value is not None:
                    os.environ[str(key)] = str(value)

    def runs_in_worker(self):
        return self._play_context.connection in LOCAL_CONNECTIONS and not self._task.delegate_to

    def run(self, tmp=None, task_vars=None):
        result = super(ModuleAction, self).run(tmp, task_vars)
        if not self.runs_in_worker():
            result.update(self._execute_module(module_name=self._task.resolved_action, module_args=self._task.args,
                                               task_vars=task_vars))
            return result
        spec = self.MODULE.argument_spec()
        if "kubeconfig" in spec and not HAS_KUBERNETES:
            raise AnsibleActionFail("%s: the kubernetes Python library is required on the controller "
                                    "(pip install kubernetes)" % self._task.action)
        params = self.validated_args(spec)
        self.apply_task_environment()
        result.update(InProcessModule(params, self._task.check_mode).run(self.MODULE.execute_module))
        return result
