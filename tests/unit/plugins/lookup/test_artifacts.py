# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX artifacts of a run, through AWX's slicing and its merge of the slices' artifacts (issue 17, case 5)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.lookup.run_reports import LookupModule
from ansible_collections.defender.attack_simulation.plugins.module_utils import _artifacts

HOSTS = ["aks-c", "aks-a", "aks-b", "team/aks-a"]


def sliced(hosts, slice_number, slice_count):
    # As Inventory.get_sliced_hosts (awx/main/models/inventory.py): hosts ordered by name, slice N gets [N-1::M].
    return sorted(hosts)[slice_number - 1::slice_count]


def job_artifacts(hosts):
    """What one job's set_stats leaves: each host's data aggregated as set_stats does (dicts merge)."""
    stats = {}
    for host in hosts:
        report = dict(host=host, run_id="run-" + host, techniques=[dict(output="{{ lookup('pipe', 'id') }}")])
        data = _artifacts.run_artifacts(report, host, "/reports/%s.json" % host)
        if len(hosts) == 1:
            data.update(_artifacts.single_run_artifacts(report, "/reports/%s.json" % host))
        for key, value in data.items():
            stats[key] = dict(stats[key], **value) if isinstance(value, dict) and key in stats else value
    return stats


def effective_artifacts(jobs_in_finish_order):
    # As WorkflowJob.get_effective_artifacts (awx/main/models/workflow.py): a top-level dict.update per job.
    artifacts = {}
    for job in jobs_in_finish_order:
        artifacts.update(job)
    return artifacts


def test_every_cluster_of_every_slice_reaches_the_next_node_whatever_the_finish_order():
    for count in (2, 3, 4):
        jobs = [job_artifacts(sliced(HOSTS, n, count)) for n in range(1, count + 1)]
        for order in (jobs, list(reversed(jobs))):
            reports = _artifacts.reports_in(effective_artifacts(order))
            assert [r["host"] for r in reports] == sorted(HOSTS), count


def test_the_run_keys_are_variable_names_and_never_shared():
    keys = [_artifacts.run_key(h) for h in HOSTS + ["aks_a", "aks/a"]]
    assert len(set(keys)) == len(keys)
    assert all(k.isidentifier() for k in keys)


def test_a_job_of_several_hosts_publishes_no_single_report_nor_path():
    stats = job_artifacts(["aks-a", "aks-b"])
    assert _artifacts.REPORT_KEY not in stats and _artifacts.PATH_KEY not in stats
    assert stats[_artifacts.PATHS_KEY] == {"aks-a": "/reports/aks-a.json", "aks-b": "/reports/aks-b.json"}


def test_the_lookup_returns_each_report_once_and_untemplated():
    variables = effective_artifacts([job_artifacts(["aks-a"]), job_artifacts(["aks-b", "aks-c"])])
    reports = LookupModule().run([], variables=variables)
    assert [r["host"] for r in reports] == ["aks-a", "aks-b", "aks-c"]
    assert reports[0]["techniques"][0]["output"] == "{{ lookup('pipe', 'id') }}"
