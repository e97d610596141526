"""docs/awx/survey.json: a valid AWX survey_spec, with the scenario choices of the catalog."""
import importlib.util
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SURVEY = ROOT / "docs" / "awx" / "survey.json"
TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
CHOICE_TYPES = {"multiplechoice", "multiselect"}


def load_catalog():
    spec = importlib.util.spec_from_file_location("_catalog", ROOT / "plugins" / "module_utils" / "_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def choice_list(question):
    choices = question["choices"]
    return [c for c in choices.split("\n") if c] if isinstance(choices, str) else choices


def survey_errors(survey):
    """A lint of the survey: what AWX's survey_spec validation refuses, and variable names Ansible would refuse.

    AWX's own rules, reproduced from its code for every launch path, are in awx_survey.py (test_survey_launch.py)."""
    errors = []
    for key, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(survey.get(key), kind):
            errors.append("'%s' missing or not a %s" % (key, kind.__name__))
    seen = set()
    for index, question in enumerate(survey.get("spec") or []):
        where = "question %d (%s)" % (index, question.get("variable"))
        for key in ("question_name", "variable", "type"):
            if not isinstance(question.get(key), str) or not question.get(key):
                errors.append("%s: '%s' missing" % (where, key))
        if not isinstance(question.get("required"), bool):
            errors.append("%s: 'required' must be a bool" % where)
        if question.get("type") not in TYPES:
            errors.append("%s: type %r is not one of %s" % (where, question.get("type"), sorted(TYPES)))
        variable = question.get("variable") or ""
        if "." in variable or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
            errors.append("%s: variable %r is not a valid variable name" % (where, variable))
        if variable in seen:
            errors.append("%s: variable %r asked twice" % (where, variable))
        seen.add(variable)
        default = question.get("default")
        if question.get("type") in CHOICE_TYPES:
            if not isinstance(question.get("choices"), (list, str)) or not choice_list(question):
                errors.append("%s: choices must be a list or a newline-separated string" % where)
                continue
            choices = choice_list(question)
            if question["type"] == "multiselect":
                defaults = default.split("\n") if isinstance(default, str) else default or []
                outside = [d for d in defaults if d and d not in choices]
                if outside:
                    errors.append("%s: default items %s are not among the choices" % (where, outside))
            elif default not in (None, "") and default not in choices:
                errors.append("%s: default %r is not among the choices" % (where, default))
        if question.get("type") == "integer" and default not in (None, ""):
            if not isinstance(default, int) or isinstance(default, bool):
                errors.append("%s: integer default %r" % (where, default))
            elif (question.get("min") is not None and default < question["min"]) or \
                    (question.get("max") is not None and default > question["max"]):
                errors.append("%s: default %r outside min/max" % (where, default))
    return errors


@pytest.fixture(scope="module")
def survey():
    return json.loads(SURVEY.read_text())


def questions(survey):
    return {q["variable"]: q for q in survey["spec"]}


def test_the_survey_is_a_valid_awx_survey_spec(survey):
    assert survey_errors(survey) == []


@pytest.mark.parametrize("broken, message", [
    (lambda s: s["spec"][0].update(type="checkbox"), "type 'checkbox'"),
    (lambda s: s["spec"][0].update(type="multiselect", default="crypto\ncryptojacking"), "['cryptojacking']"),
    (lambda s: s["spec"][1].update(variable="simulation.namespace"), "not a valid variable name"),
    (lambda s: s["spec"][2].update(variable="scenario"), "asked twice"),
    (lambda s: s["spec"][2].update(required="yes"), "'required' must be a bool"),
    (lambda s: s["spec"][3].update(default="maybe"), "default 'maybe' is not among"),
    (lambda s: s.pop("description"), "'description' missing"),
])
def test_the_checker_finds_what_awx_refuses(survey, broken, message):
    copy = json.loads(json.dumps(survey))
    broken(copy)
    assert any(message in error for error in survey_errors(copy)), survey_errors(copy)


def test_the_scenario_choices_are_the_catalogs(survey):
    catalog = load_catalog()
    scenario = questions(survey)["scenario"]
    assert scenario["type"] == "multiplechoice"
    assert choice_list(scenario) == list(catalog.SCENARIOS) + ["all"]
    assert scenario["default"] == "crypto"


def test_the_questions_and_their_defaults(survey):
    asked = questions(survey)
    assert list(asked) == ["scenario", "simulation_namespace", "require_sensor", "verify", "verify_deadline"]
    assert asked["simulation_namespace"]["type"] == "text" and asked["simulation_namespace"]["default"] == "mdc-simulation"
    for flag in ("require_sensor", "verify"):
        assert asked[flag]["type"] == "multiplechoice" and choice_list(asked[flag]) == ["true", "false"]
    assert asked["verify_deadline"]["type"] == "integer" and asked["verify_deadline"]["default"] == 3600


def test_every_variable_is_read_by_the_playbooks_or_roles(survey):
    sources = "\n".join(p.read_text() for p in list((ROOT / "playbooks").glob("*.yml"))
                        + list((ROOT / "roles").glob("*/defaults/main.yml")))
    for variable in questions(survey):
        assert re.search(r"\b%s\b" % variable, sources), "%s is asked but nothing reads it" % variable
