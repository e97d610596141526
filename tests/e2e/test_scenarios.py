"""Each scenario on the real cluster, checked by what happened there, not only by the playbook's exit status."""
import re
import sys

import pytest
from kubernetes import client

from conftest import NAMESPACE

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "plugins" / "module_utils"))
import _catalog  # noqa: E402  pylint: disable=wrong-import-position,import-error

pytestmark = pytest.mark.usefixtures("leaves_nothing_behind")


def assert_report_is_complete(run, scenarios):
    """What every run's report must say: each planned technique with status and duration, the catalog's alerts."""
    assert run.returncode == 0, run
    report = run.report
    planned = [t["id"] for t in _catalog.techniques_for(scenarios)]
    assert [t["id"] for t in report["techniques"]] == planned
    for record in report["techniques"]:
        assert record["status"] == "passed", record
        assert isinstance(record["duration"], float) and 0 < record["duration"] < 200, record
    assert [a["display_name"] for a in report["expected_alerts"]] == \
        [a["display_name"] for a in _catalog.alerts_for(scenarios)]
    assert all(a["triggered"] for a in report["expected_alerts"]), report["expected_alerts"]
    assert sorted(p.suffix for p in run.report_files) == [".json", ".md", ".xml"]


def test_webshell_answers_whoami_with_the_web_servers_user(simulate):
    run = simulate(scenario="webshell")
    assert_report_is_complete(run, ["webshell"])
    # The victim's php-fpm workers run as the unprivileged user nginx, as in Microsoft's image.
    assert run.technique("webshell.whoami")["output"].strip() == "nginx"


def test_recon_gets_the_review_from_the_real_api_server_and_finds_it_with_nmap(simulate, api_client, core):
    run = simulate(scenario="recon")
    assert_report_is_complete(run, ["recon"])
    review = run.technique("recon.access_review")["output"]
    printed = re.search(r'SelfSubjectAccessReview "status": *\{"allowed": *(true|false)', review)
    assert printed, review
    # The same question, asked by us for the victim's service account, gets the same answer from the API server.
    truth = client.AuthorizationV1Api(api_client).create_subject_access_review(client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user="system:serviceaccount:%s:mdc-simulation-victim" % NAMESPACE,
            groups=["system:serviceaccounts", "system:serviceaccounts:%s" % NAMESPACE, "system:authenticated"],
            resource_attributes=client.V1ResourceAttributes(namespace="default", verb="get", resource="pods"))))
    assert printed.group(1) == str(truth.status.allowed).lower()
    api_service_ip = core.read_namespaced_service("kubernetes", "default").spec.cluster_ip
    scan = run.technique("recon.network_scan")["output"]
    assert re.search(r"Nmap scan report for .*%s\)?\s*\n(.*\n)*?443/tcp\s+open" % re.escape(api_service_ip), scan), scan


def test_lateral_movement_without_a_metadata_service_reports_no_token_quickly(simulate):
    run = simulate(scenario="lateral_movement")
    assert_report_is_complete(run, ["lateral_movement"])
    record = run.technique("lateral_movement.metadata_token")
    assert record["output"].strip().endswith("No token found")
    assert record["duration"] < 30


def test_lateral_movement_finds_a_token_and_prints_only_its_first_characters(simulate, fake_azure_metadata):
    run = simulate(scenario="lateral_movement")
    assert_report_is_complete(run, ["lateral_movement"])
    output = run.technique("lateral_movement.metadata_token")["output"]
    assert "cloud: Azure" in output
    assert "token: %s...(cut)" % fake_azure_metadata.token[:8] in output
    assert fake_azure_metadata.token not in run.output + str(run.report)
    assert any(path.startswith("/metadata/identity/oauth2/token") for path in fake_azure_metadata.requests)


def test_secrets_finds_the_git_credentials_and_cuts_the_token_short(simulate):
    run = simulate(scenario="secrets")
    assert_report_is_complete(run, ["secrets"])
    found = run.technique("secrets.git_credentials")["output"]
    assert "found /home/user/.git-credentials:" in found
    # The script prints the password cut short; the report's redaction keeps only its first character.
    assert "https://user:p\u2026@somegit.com" in found and "user:pass@" not in run.output + str(run.report)
    token = run.technique("secrets.service_account_token")["output"]
    printed = re.search(r"service-account token: (\S{30})\.\.\.\(cut\)$", token.strip())
    assert printed and printed.group(1).startswith("eyJ"), token
    assert run.technique("secrets.cloud_secret_env")["output"].strip() == "AZURE_CREDENTIAL_FILE is not set"


def test_crypto_attempts_ld_so_preload_and_runs_xmrig_downloaded_from_the_attacker(simulate, core):
    run = simulate(scenario="crypto", keep_objects=True)
    try:
        assert_report_is_complete(run, ["crypto"])
        preload = run.technique("crypto.ld_so_preload")["output"].strip()
        # The web shell runs as the unprivileged nginx user, so creating the file is refused: the attempt is the signal.
        assert preload == "ld.so.preload: refused for nginx", preload
        assert "modprobe msr allow_writes=on: exit" in run.technique("crypto.cpu_optimization")["output"]
        assert re.search(r"downloaded xmrig to \S+/xmrig \(\d+ bytes\)", run.technique("crypto.miner_download")["output"])
        ran = run.technique("crypto.miner_run")
        assert ran["rc"] == 0 and ran["output"].strip().endswith("xmrig exited 0")
        # The download really came from the attacker's payload server.
        attacker_log = core.read_namespaced_pod_log("mdc-simulation-attacker", NAMESPACE)
        assert re.search(r'"GET /xmrig HTTP/1\.[01]" 200', attacker_log), attacker_log
    finally:
        assert simulate(playbook="cleanup.yml").returncode == 0


def test_ti_domain_is_attempted_and_ends_within_its_bound(simulate):
    run = simulate(scenario="ti-domain")
    assert_report_is_complete(run, ["ti_domain"])
    record = run.technique("ti_domain.test_domain")
    # No DNS for outside names in the sealed cluster: curl fails to resolve the domain (exit 6), quickly.
    assert "request to mdc-eicar.alerts.security.azure.com sent: curl exit 6" in record["output"]
    assert record["duration"] < 15


def test_all_runs_every_technique_of_every_scenario_in_the_documented_order(simulate):
    run = simulate(scenario="all")
    assert_report_is_complete(run, list(_catalog.ALL_SCENARIOS))
    assert run.report["scenarios"] == ["recon", "lateral_movement", "secrets", "crypto", "ti_domain"]
