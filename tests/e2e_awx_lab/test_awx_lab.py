"""NEEDS THE SEALED CLUSTER AND THE AWX LAB (make awx-up): run through
`tests/cluster/run -- python -m pytest tests/e2e_awx_lab` (make e2e-awx-lab).

AWX from source (tests/awx_lab), driven only through its REST API, after docs/awx/objects.yml created its objects
with the awx.awx collection: a project synced from this repository (served by git daemon inside the namespace) with
no edit and no Galaxy, the built-in Kubernetes and Azure credentials, the simulate job template with the survey
launched with no answers, some and all, a schedule that fires, job slicing 2 over an inventory of two clusters (two
namespaces of the sealed cluster), and the workflow simulate -> verify (against the Azure stand-in, which has no
alert) -> a notification because the verdict is not passed."""
import base64
import datetime
import http.server
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
SURVEY = json.loads((ROOT / "docs" / "awx" / "survey.json").read_text())
DEFAULTS = {question["variable"]: question["default"] for question in SURVEY["spec"]}
API = "http://127.0.0.1:%s/api/v2/" % os.environ.get("AWX_LAB_PORT", "8013")
PASSWORD = os.environ.get("AWX_LAB_ADMIN_PASSWORD", "lab-admin-password")
EE_IMAGE = os.environ.get("AWX_LAB_EE_IMAGE", "localhost/defender-simulation-ee:lab")
STATE = pathlib.Path(os.environ.get("AWX_LAB_STATE", "/var/lib/defender-awx-lab"))
PREFIX = "Defender simulation"
JOB_TIMEOUT = 900


class Awx(object):
    """The AWX REST API, as admin."""

    def __init__(self):
        self.auth = "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode()

    def call(self, method, path, body=None):
        url = path if path.startswith("http") else API + path.lstrip("/")
        request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": self.auth, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as error:
            raise AssertionError("%s %s: %s %s" % (method, path, error.code, error.read().decode()[:2000]))
        return json.loads(text) if text else None

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body):
        return self.call("POST", path, body)

    def one(self, kind, name):
        found = self.get("%s/?name=%s" % (kind, urllib.request.quote(name)))["results"]
        assert len(found) == 1, "%s %r: %d found" % (kind, name, len(found))
        return found[0]

    def wait(self, kind, number, timeout=JOB_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get("%s/%d/" % (kind, number))
            if job["status"] in ("successful", "failed", "error", "canceled"):
                return job
            time.sleep(3)
        raise AssertionError("%s %d still %s after %d s" % (kind, number, job["status"], timeout))

    def stdout(self, number):
        request = urllib.request.Request(API + "jobs/%d/stdout/?format=txt_download" % number,
                                         headers={"Authorization": self.auth})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.read().decode(errors="replace")

    def launch(self, template, extra_vars):
        jt = self.one("job_templates", template)
        launched = self.post("job_templates/%d/launch/" % jt["id"], {"extra_vars": extra_vars})
        job = self.wait("jobs", launched["job"])
        return job, self.stdout(job["id"])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver(object):
    """A webhook endpoint on 127.0.0.1 of the namespace: the notifications AWX sends."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802  (http.server's name)
                received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"))
                self.send_response(200)
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/notify" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def awx():
    if not os.environ.get("CLUSTER_RUN_INSIDE"):
        pytest.fail("needs the sealed cluster: run through tests/cluster/run -- python -m pytest tests/e2e_awx_lab")
    client = Awx()
    try:
        client.get("ping/")
    except (AssertionError, OSError) as error:
        pytest.fail("the AWX lab does not answer at %s (make awx-up): %s" % (API, error))
    return client


@pytest.fixture(scope="module")
def git_url(tmp_path_factory):
    """This checkout's HEAD, served read-only by git daemon on 127.0.0.1 of the namespace (the project's source)."""
    base = tmp_path_factory.mktemp("git")
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(base / "defender.git")], check=True)
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
                               "--port=%d" % port, "--base-path=%s" % base, str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _attempt in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield "git://127.0.0.1:%d/defender.git" % port
    daemon.terminate()
    daemon.wait(10)


@pytest.fixture(scope="module")
def kube_credential():
    """A service account of the sealed cluster, its token and the cluster's CA: what the built-in credential holds."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    config.load_kube_config()
    core, rbac = client.CoreV1Api(), client.RbacAuthorizationV1Api()
    name = "defender-awx-lab"
    core.create_namespaced_service_account("default", {"metadata": {"name": name}})
    rbac.create_cluster_role_binding({"metadata": {"name": name},
                                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                  "name": "cluster-admin"},
                                      "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})
    token = core.create_namespaced_service_account_token(
        name, "default", {"spec": {"expirationSeconds": 7200}}).status.token
    kubeconfig = yaml.safe_load(pathlib.Path(os.environ["KUBECONFIG"]).read_text())
    cluster = kubeconfig["clusters"][0]["cluster"]
    ca = (base64.b64decode(cluster["certificate-authority-data"]).decode() if "certificate-authority-data" in cluster
          else pathlib.Path(cluster["certificate-authority"]).read_text())
    yield {"host": cluster["server"], "bearer_token": token, "ca_cert": ca}
    rbac.delete_cluster_role_binding(name)
    core.delete_namespaced_service_account(name, "default")


@pytest.fixture(scope="module")
def fake_arm(awx):
    """The Azure stand-in on 127.0.0.1 of the namespace, with no alert; its CA shown to the job containers."""
    state = STATE / "fake-arm"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "arm_server" / "fake_arm.py"), "--state-dir",
                             str(state)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _attempt in range(100):
        if (state / "port").exists():
            break
        time.sleep(0.1)
    awx.call("PATCH", "settings/jobs/", {"AWX_ISOLATION_SHOW_PATHS": [str(state)]})
    yield {"url": "https://127.0.0.1:%s" % (state / "port").read_text().strip(), "ca": str(state / "ca.pem")}
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def objects(awx, git_url, kube_credential, fake_arm, receiver, tmp_path_factory):
    """docs/awx/objects.yml, run against the lab's AWX."""
    settings = {
        "awx_objects_ee_image": EE_IMAGE,
        "awx_objects_ee_pull": "never",
        "awx_objects_scm_url": git_url,
        "awx_objects_scm_branch": "",
        "awx_objects_kubernetes": kube_credential,
        "awx_objects_azure": {"subscription": "6f1c8f5e-0000-4000-8000-00000000a11e",
                              "client": "11111111-2222-3333-4444-555555555555",
                              "secret": "s3cr3t-value-do-not-print", "tenant": "00000000-0000-0000-0000-0000000000aa"},
        "awx_objects_fleet": [{"name": "cluster-a", "vars": {"simulation_namespace": "mdc-awx-slice-a"}},
                              {"name": "cluster-b", "vars": {"simulation_namespace": "mdc-awx-slice-b"}}],
        "awx_objects_fleet_uses_credential": True,
        "awx_objects_notification_url": receiver.url,
        "awx_objects_schedule_enabled": False,
        "awx_objects_simulate_extra_vars": {"simulation_cluster_name": "sim-cluster"},
        "awx_objects_verify_extra_vars": {"verify_arm_endpoint": fake_arm["url"], "verify_authority": fake_arm["url"],
                                          "verify_ca_cert": fake_arm["ca"], "verify_poll_interval": 5},
    }
    variables = tmp_path_factory.mktemp("objects") / "awx.yml"
    variables.write_text(yaml.safe_dump(settings))
    env = dict(os.environ, CONTROLLER_HOST=API.rsplit("/api/", 1)[0], CONTROLLER_USERNAME="admin",
               CONTROLLER_PASSWORD=PASSWORD, CONTROLLER_VERIFY_SSL="false", ANSIBLE_NOCOLOR="1",
               PATH="%s:%s" % (BIN, os.environ["PATH"]))
    started = time.monotonic()
    result = subprocess.run([str(BIN / "ansible-playbook"), "docs/awx/objects.yml", "-e", "@%s" % variables],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert kube_credential["bearer_token"] not in result.stdout + result.stderr
    return {"seconds": time.monotonic() - started, "output": result.stdout}


def job_vars(job):
    return json.loads(job["extra_vars"])


def test_the_objects_playbook_created_the_objects_and_the_project_synced_without_galaxy(awx, objects):
    project = awx.one("projects", PREFIX)
    assert project["status"] == "successful", project
    update = awx.get("project_updates/?project=%d&order_by=-id" % project["id"])["results"][0]
    assert update["status"] == "successful"
    for kind, name in (("execution_environments", PREFIX), ("credentials", PREFIX + " - Kubernetes"),
                       ("credentials", PREFIX + " - Azure"), ("inventories", PREFIX + " - local"),
                       ("inventories", PREFIX + " - fleet"), ("job_templates", PREFIX),
                       ("job_templates", PREFIX + " - fleet"), ("job_templates", PREFIX + " - verification"),
                       ("workflow_job_templates", PREFIX + " and verification"),
                       ("notification_templates", PREFIX + " - not passed"), ("schedules", PREFIX + " - nightly")):
        awx.one(kind, name)
    credential = awx.one("credentials", PREFIX + " - Kubernetes")
    assert credential["summary_fields"]["credential_type"]["name"] == "OpenShift or Kubernetes API Bearer Token"
    spec = awx.get("job_templates/%d/survey_spec/" % awx.one("job_templates", PREFIX)["id"])
    assert [q["variable"] for q in spec["spec"]] == [q["variable"] for q in SURVEY["spec"]]


@pytest.mark.parametrize("answers, expected", [
    ({}, DEFAULTS),
    ({"scenario": "webshell", "simulation_namespace": "mdc-awx-partial"},
     dict(DEFAULTS, scenario="webshell", simulation_namespace="mdc-awx-partial")),
    ({"scenario": "ti_domain", "simulation_namespace": "mdc-awx-all", "require_sensor": "true", "verify": "false",
      "verify_deadline": 600},
     {"scenario": "ti_domain", "simulation_namespace": "mdc-awx-all", "require_sensor": "true", "verify": "false",
      "verify_deadline": 600}),
], ids=["no-answers", "some-answers", "all-answers"])
def test_a_launch_through_the_api_runs_with_the_survey_defaults_for_what_it_leaves_out(
    awx, objects, answers, expected,
):
    job, output = awx.launch(PREFIX, answers)
    assert job["status"] == "successful", output[-5000:]
    assert {k: v for k, v in job_vars(job).items() if k in DEFAULTS} == expected
    report = job["artifacts"]["defender_simulation"]
    assert report["status"] == "passed" and report["scenarios"] == [expected["scenario"]]
    assert report["namespace"] == expected["simulation_namespace"]
    # The built-in bearer token credential with its CA: the certificate is verified, nothing warns about it.
    assert "certificate is not verified" not in output


def test_a_schedule_with_some_answers_fires_and_runs_with_the_defaults_of_the_others(awx, objects):
    jt = awx.one("job_templates", PREFIX)
    start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=45)).strftime("%Y%m%dT%H%M%SZ")
    schedule = awx.post("job_templates/%d/schedules/" % jt["id"], {
        "name": "e2e once", "rrule": "DTSTART:%s RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1" % start,
        "extra_data": {"scenario": "recon", "simulation_namespace": "mdc-awx-schedule"}})
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            fired = awx.get("jobs/?schedule=%d" % schedule["id"])["results"]
            if fired:
                break
            time.sleep(5)
        assert fired, "the schedule did not fire within 5 minutes of its start"
        job = awx.wait("jobs", fired[0]["id"])
        assert job["launch_type"] == "scheduled"
        assert job["status"] == "successful", awx.stdout(job["id"])[-5000:]
        assert {k: v for k, v in job_vars(job).items() if k in DEFAULTS} == dict(
            DEFAULTS, scenario="recon", simulation_namespace="mdc-awx-schedule")
    finally:
        awx.call("DELETE", "schedules/%d/" % schedule["id"])


def test_job_slicing_runs_each_cluster_of_the_fleet_in_its_own_slice(awx, objects):
    jt = awx.one("job_templates", PREFIX + " - fleet")
    launched = awx.post("job_templates/%d/launch/" % jt["id"], {"extra_vars": {"scenario": "webshell"}})
    assert launched["type"] == "workflow_job", launched
    workflow = awx.wait("workflow_jobs", launched["id"])
    nodes = awx.get("workflow_job_nodes/?workflow_job=%d" % workflow["id"])["results"]
    jobs = [awx.get("jobs/%d/" % node["job"]) for node in nodes]
    outputs = {job["id"]: awx.stdout(job["id"]) for job in jobs}
    assert workflow["status"] == "successful", "\n".join(o[-3000:] for o in outputs.values())
    assert sorted(job["job_slice_number"] for job in jobs) == [1, 2] and {job["job_slice_count"] for job in jobs} == {2}
    namespaces = set()
    for job in jobs:
        runs = job["artifacts"]["defender_simulation_runs"]
        assert len(runs) == 1, runs  # one cluster per slice
        (host, report), = runs.items()
        assert report["status"] == "passed"
        namespaces.add((host, report["namespace"]))
    assert namespaces == {("cluster-a", "mdc-awx-slice-a"), ("cluster-b", "mdc-awx-slice-b")}


def test_the_workflow_verifies_against_the_azure_stand_in_and_notifies_that_the_verdict_is_not_passed(
    awx, objects, receiver,
):
    wfjt = awx.one("workflow_job_templates", PREFIX + " and verification")
    launched = awx.post("workflow_job_templates/%d/launch/" % wfjt["id"], {
        "extra_vars": {"simulation_namespace": "mdc-awx-workflow", "verify_deadline": 60}})
    workflow = awx.wait("workflow_jobs", launched["workflow_job"], timeout=JOB_TIMEOUT * 2)
    nodes = {node["summary_fields"]["unified_job_template"]["name"]: node
             for node in awx.get("workflow_job_nodes/?workflow_job=%d" % workflow["id"])["results"]}
    simulate = awx.get("jobs/%d/" % nodes[PREFIX]["job"])
    assert simulate["status"] == "successful", awx.stdout(simulate["id"])[-5000:]
    verify = awx.get("jobs/%d/" % nodes[PREFIX + " - verification"]["job"])
    verify_output = awx.stdout(verify["id"])
    # The verify node got the simulate node's report as its artifact and asked the stand-in, which has no alert.
    assert verify["status"] == "failed", verify_output[-5000:]
    assert simulate["artifacts"]["defender_simulation"]["run_id"] in verify_output
    assert "missing" in verify_output
    assert workflow["status"] == "failed"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not receiver.received:
        time.sleep(2)
    assert receiver.received, "no notification arrived"
    assert any(str(workflow["id"]) in json.dumps(body) for body in receiver.received), receiver.received


def test_the_jobs_left_nothing_of_the_collections_behind(awx, objects):
    """Every namespace the AWX jobs created (they carry the collection's label) is gone within two minutes."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    config.load_kube_config()
    core = client.CoreV1Api()
    deadline = time.monotonic() + 120
    left = None
    while time.monotonic() < deadline:
        left = [n.metadata.name for n in core.list_namespace(
            label_selector="app.kubernetes.io/managed-by=defender.attack_simulation").items]
        if not left:
            return
        time.sleep(3)
    raise AssertionError("left behind: %s" % left)
