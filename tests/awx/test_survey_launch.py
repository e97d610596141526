# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/awx/survey.json through AWX's own rules (awx_survey.py), in every launch path (API or CLI launch, workflow
launch, schedule, workflow node) with no answers, some and all; then the playbook with what the job gets."""
import copy
import importlib.util
import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import awx_survey  # noqa: E402  pylint: disable=wrong-import-position

ROOT = pathlib.Path(__file__).resolve().parents[2]
SURVEY = json.loads((ROOT / "docs" / "awx" / "survey.json").read_text())
BIN = pathlib.Path(sys.executable).parent


def load_listener():
    spec = importlib.util.spec_from_file_location("bad_input", ROOT / "tests" / "playbooks" / "test_bad_input.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Listener


def scenario_spec():
    specs = yaml.safe_load((ROOT / "roles" / "prerequisites" / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]["simulation_scenarios"]


def playbook_scenarios(extra_vars):
    """simulate.yml's simulation_scenarios from the job's `scenario`, as the prerequisites role's spec checks it."""
    result = ArgumentSpecValidator({"simulation_scenarios": scenario_spec()}).validate(
        {"simulation_scenarios": extra_vars.get("scenario")})
    return result.validated_parameters["simulation_scenarios"], [str(e) for e in result.errors]


DEFAULTS = {question["variable"]: question["default"] for question in SURVEY["spec"]}
ALL_ANSWERS = {"scenario": "secrets", "simulation_namespace": "mdc-nightly", "require_sensor": "false",
               "verify": "true", "verify_deadline": 7200}


def docs_schedule_extra_data():
    """The extra_data of docs/awx.md's schedule example, as a user would paste it."""
    text = (ROOT / "docs" / "awx.md").read_text()
    found = re.search(r'"extra_data": (\{[^}]*\})', text)
    assert found, "docs/awx.md has no schedule example with extra_data"
    return json.loads(found.group(1))


def as_required(survey):
    """The survey as it was before: every question with a default was required."""
    old = copy.deepcopy(survey)
    for question in old["spec"]:
        question["required"] = question["variable"] != "verify_deadline"
    return old


def as_multiselect(survey):
    """The survey as it was before: scenario a multiple select with the default "crypto"."""
    old = copy.deepcopy(survey)
    old["spec"][0].update(type="multiselect", default="crypto")
    return old


def test_awx_accepts_the_survey_on_upload():
    assert awx_survey.upload_error(copy.deepcopy(SURVEY)) is None


@pytest.mark.parametrize("broken, message", [
    (lambda s: s["spec"][0].update(default=["crypto"]), "expected to be string"),
    (lambda s: s["spec"][0].update(default="crypto\nsecrets"), "can only have one default value"),
    (lambda s: s["spec"][0].update(default="mining"), "Default choice must be answered from the choices listed"),
    (lambda s: s["spec"][4].update(default="3600"), "expected to be integer"),
    (lambda s: s["spec"][2].update(variable="scenario"), "duplicated"),
])
def test_the_upload_check_refuses_what_awx_refuses(broken, message):
    survey = copy.deepcopy(SURVEY)
    broken(survey)
    assert message in (awx_survey.upload_error(survey) or "")


@pytest.mark.parametrize("path, answers", [
    ("api", {}), ("workflow", {}), ("schedule", None), ("schedule", {}), ("workflow_node", None),
    ("workflow_node", {}),
])
def test_no_answers_get_every_default_in_every_launch_path(path, answers):
    extra_vars, errors = awx_survey.LAUNCH_PATHS[path](awx_survey.uploaded(SURVEY), answers)
    assert errors == {}
    assert extra_vars == DEFAULTS
    assert extra_vars["scenario"] == "crypto"
    assert playbook_scenarios(extra_vars) == (["crypto"], [])


@pytest.mark.parametrize("path", sorted(awx_survey.LAUNCH_PATHS))
def test_some_answers_get_the_defaults_of_the_others(path):
    answers = {"scenario": "all", "verify": "false"}
    extra_vars, errors = awx_survey.LAUNCH_PATHS[path](awx_survey.uploaded(SURVEY), answers)
    assert errors == {}
    assert extra_vars == dict(DEFAULTS, scenario="all", verify="false")


@pytest.mark.parametrize("path", sorted(awx_survey.LAUNCH_PATHS))
def test_all_answers_are_the_jobs(path):
    extra_vars, errors = awx_survey.LAUNCH_PATHS[path](awx_survey.uploaded(SURVEY), dict(ALL_ANSWERS))
    assert errors == {}
    assert extra_vars == ALL_ANSWERS
    assert playbook_scenarios(extra_vars) == (["secrets"], [])


def test_the_schedule_example_of_the_docs_is_accepted():
    extra_data = docs_schedule_extra_data()
    extra_vars, errors = awx_survey.schedule(awx_survey.uploaded(SURVEY), extra_data)
    assert errors == {}
    assert extra_vars == dict(DEFAULTS, **extra_data)


@pytest.mark.parametrize("path, answers, missing", [
    ("schedule", "docs", ["simulation_namespace", "require_sensor"]),
    ("api", {}, ["scenario", "simulation_namespace", "require_sensor", "verify"]),
    ("workflow", {"scenario": "all"}, ["simulation_namespace", "require_sensor", "verify"]),
])
def test_with_the_former_required_questions_awx_refused_these_launches(path, answers, missing):
    """The defect this survey fixes: a required question's default is not an answer."""
    answers = docs_schedule_extra_data() if answers == "docs" else answers
    extra_vars, errors = awx_survey.LAUNCH_PATHS[path](awx_survey.uploaded(as_required(SURVEY)), answers)
    assert extra_vars is None
    assert errors["variables_needed_to_start"] == ["'%s' value missing" % variable for variable in missing]


def test_an_answer_outside_the_survey_is_refused_by_a_schedule_and_ignored_by_an_api_launch():
    survey = awx_survey.uploaded(SURVEY)
    assert awx_survey.schedule(survey, {"scenario": "all", "verbose": True})[0] is None
    extra_vars, errors = awx_survey.api_launch(survey, {"scenario": "all", "verbose": True})
    assert errors == {} and "verbose" not in extra_vars and extra_vars["scenario"] == "all"


def test_with_the_former_multiple_select_a_launch_with_no_answers_had_no_scenario():
    """The defect this survey avoids: the upload wants a string default, the default filling a list."""
    old = awx_survey.uploaded(as_multiselect(SURVEY))
    extra_vars, errors = awx_survey.launch(old, answers=None)
    assert errors == {} and "scenario" not in extra_vars
    assert playbook_scenarios(extra_vars)[1], "the playbook should refuse a run without a scenario"


@pytest.mark.parametrize("choice", awx_survey.uploaded(SURVEY)["spec"][0]["choices"])
def test_a_launch_with_an_answer_runs_that_scenario(choice):
    answers = {"scenario": choice, "simulation_namespace": "mdc-simulation", "require_sensor": "true",
               "verify": "false", "verify_deadline": 3600}
    extra_vars, errors = awx_survey.launch(awx_survey.uploaded(SURVEY), answers=answers)
    assert errors == {} and extra_vars["scenario"] == choice
    scenarios, spec_errors = playbook_scenarios(extra_vars)
    assert spec_errors == [] and scenarios == [choice]


@pytest.mark.parametrize("answers, message", [
    ({"scenario": "mining"}, "Value mining for 'scenario' expected to be one of"),
    ({"scenario": ["crypto"]}, "expected to be one of"),
    ({"verify_deadline": "60"}, "expected to be an integer"),
    ({"verify_deadline": 30}, "is too small"),
])
def test_a_launch_with_a_bad_answer_is_refused_by_awx(answers, message):
    complete = dict({"scenario": "crypto", "simulation_namespace": "mdc-simulation", "require_sensor": "true",
                     "verify": "false"}, **answers)
    extra_vars, errors = awx_survey.launch(awx_survey.uploaded(SURVEY), answers=complete)
    assert extra_vars is None
    assert any(message in error for error in errors["variables_needed_to_start"]), errors


def run_simulate(extra_vars, api_server):
    variables = dict(extra_vars, host=api_server.url, api_key="not-a-real-token")
    result = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/simulate.yml", "-e", json.dumps(variables)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    return result.stdout + result.stderr


@pytest.fixture
def api_server():
    listener = load_listener()()
    yield listener
    listener.close()


def test_the_playbook_runs_a_scheduled_launch_as_far_as_the_cluster(api_server):
    """What a schedule without answers gives the job passes the input checks and reaches the API server."""
    extra_vars, _errors = awx_survey.launch(awx_survey.uploaded(SURVEY), answers=None)
    output = run_simulate(extra_vars, api_server)
    assert "simulation_scenarios" not in output, output[-2000:]
    assert "cannot reach the Kubernetes API server" in output
    assert api_server.connections > 0


def test_the_playbook_refused_a_scheduled_launch_of_the_former_survey(api_server):
    extra_vars, _errors = awx_survey.launch(awx_survey.uploaded(as_multiselect(SURVEY)), answers=None)
    output = run_simulate(extra_vars, api_server)
    assert "simulation_scenarios" in output
    assert api_server.connections == 0
