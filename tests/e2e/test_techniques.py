"""The technique action on the real cluster: bounded techniques, string numbers, and secrets never shown whole."""
import json
import subprocess

import pytest

from conftest import NAMESPACE

pytestmark = pytest.mark.usefixtures("leaves_nothing_behind")
VICTIM = "mdc-simulation-victim"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def test_a_technique_that_hits_its_bound_is_timed_out_and_the_next_one_runs(simulate):
    # Given as -e key=value, as a user types it: a string that must work as a number.
    run = simulate("-e", "techniques_scan_timeout=1", scenario="recon,ti_domain")
    assert [t["id"] for t in run.report["techniques"]] == \
        ["recon.access_review", "recon.network_scan", "ti_domain.test_domain"], run
    scan = run.technique("recon.network_scan")
    assert scan["status"] == "timed_out", scan
    assert scan["message"] == ("recon.network_scan did not finish within its bound of 1 s; "
                               "the run went on with the next technique")
    assert run.technique("recon.access_review")["status"] == "passed"
    assert run.technique("ti_domain.test_domain")["status"] == "passed"
    # A timed-out technique fails the run at its end, after the report, like a failed one.
    assert run.returncode != 0 and "technique(s) failed: recon.network_scan" in run.output
    junit = next(p for p in run.report_files if p.suffix == ".xml").read_text()
    assert 'type="timed_out"' in junit


def test_every_record_has_its_window_on_the_controllers_clock_and_a_string_bound_works(simulate):
    run = simulate("-e", "techniques_timeout=30", scenario="webshell")
    assert run.returncode == 0, run
    record = run.technique("webshell.whoami")
    assert record["started"] <= record["finished"], record
    for stamp in (record["started"], record["finished"]):
        assert len(stamp) == len("2026-11-29T08:00:00.123Z") and stamp.endswith("Z"), stamp


def victim_token():
    """The victim's real service-account token, read from its pod (a test may use kubectl; the collection not)."""
    return subprocess.run(["kubectl", "exec", "-n", NAMESPACE, VICTIM, "-c", VICTIM, "--", "cat", TOKEN_PATH],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def test_at_the_highest_verbosity_no_secret_is_shown_whole_anywhere(simulate, fake_azure_metadata):
    run = simulate("-vvv", scenario="all", keep_objects=True,
                   env={"ANSIBLE_SHOW_CUSTOM_STATS": "true"})  # the set_stats artifact, printed at the end
    try:
        assert run.returncode == 0, run
        token = victim_token()
        assert token.startswith("eyJ") and token.count(".") == 2
        # The secrets the techniques really met: each was found and its start shown, never the whole of it.
        assert token[:30] in run.technique("secrets.service_account_token")["output"]
        assert fake_azure_metadata.token[:8] in run.technique("lateral_movement.metadata_token")["output"]
        assert "somegit.com" in run.technique("secrets.git_credentials")["output"]
        assert "CUSTOM STATS" in run.output and "defender_simulation" in run.output
        places = {"the playbook's output at -vvv": run.output}
        places.update((path.name, path.read_text()) for path in run.report_files)
        assert sorted(p.suffix for p in run.report_files) == [".json", ".md", ".xml"]
        for where, text in places.items():
            for secret in (token, fake_azure_metadata.token):
                assert secret not in text, "a whole token is in %s" % where
                # Nor its second half alone (the signature of a token is what makes it usable).
                assert secret[len(secret) // 2:] not in text, "the end of a token is in %s" % where
            assert "user:pass@" not in text, "the git credentials' password is in %s" % where
        assert json.loads(next(p for p in run.report_files if p.suffix == ".json").read_text())["techniques"]
    finally:
        assert simulate(playbook="cleanup.yml").returncode == 0
