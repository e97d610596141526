# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX's survey rules, reproduced from its code so that tests can put docs/awx/survey.json through every launch path.

From ansible/awx e21dd0a (the rules have been stable across AWX releases):
- upload, `POST .../survey_spec/`: awx/api/views/__init__.py, JobTemplateSurveySpec._validate_spec_data;
- each answer: awx/main/models/mixins.py, SurveyJobTemplateMixin._survey_element_validation;
- a launch's extra vars: SurveyJobTemplateMixin._accept_or_ignore_variables (what is accepted or refused) and
  SurveyJobTemplateMixin._update_unified_job_kwargs (template extra vars, then the survey defaults that pass
  _survey_element_validation, then the launch's own extra vars).
The launch paths (which errors each one excludes, and whether an error refuses the request or is only logged):
- API or CLI launch, `POST .../launch/` (awx/api/serializers.py, JobLaunchSerializer.validate): excludes 'prompts'
  only; a survey error refuses the launch (400). The UI's survey form posts the same request with every answer.
- workflow launch (WorkflowJobLaunchSerializer.validate): excludes nothing; errors refuse the launch.
- saving a schedule (ScheduleSerializer, LaunchConfigurationBaseSerializer.validate, exclude_errors = ()): its
  extra_data is validated only when given, and then a required question without an answer refuses the save;
  when it fires (awx/main/models/schedules.py, Schedule.get_job_kwargs) errors are only logged and the job gets what
  was accepted plus the survey defaults.
- saving a workflow node (WorkflowJobTemplateNodeSerializer, exclude_errors = ('required',)); when the workflow
  runs it (awx/main/models/workflow.py, WorkflowJobNode.get_job_kwargs) errors are only logged, as for a schedule.
Password encryption is left out: the survey has no password question.
"""
import copy

ALLOWED_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                 "integer": int, "float": float}


def _choices(element):
    choices = copy.copy(element["choices"])
    if isinstance(choices, str):
        choices = [choice for choice in choices.splitlines() if choice.strip() != ""]
    return choices


def upload_error(new_spec):
    """The error AWX's API answers 400 with when this survey_spec is posted, or None; normalizes like AWX does."""
    for field, expect_type, type_label in (("name", str, "string"), ("description", str, "string"),
                                           ("spec", list, "list of items")):
        if field not in new_spec:
            return "Field '{}' is missing from survey spec.".format(field)
        if not isinstance(new_spec[field], expect_type):
            received = type(new_spec[field]).__name__
            return "Expected {} for field '{}', received {} type.".format(type_label, field, received)
    if len(new_spec["spec"]) < 1:
        return "'spec' doesn't contain any items."
    variables = set()
    for idx, item in enumerate(new_spec["spec"]):
        if not isinstance(item, dict):
            return "Survey question %s is not a json object." % idx
        for field_name in ("type", "question_name", "variable", "required"):
            if field_name not in item:
                return "'{}' missing from survey question {}".format(field_name, idx)
            allow_types, type_label = (bool, "boolean") if field_name == "required" else (str, "string")
            if not isinstance(item[field_name], allow_types):
                return "'{}' in survey question {} expected to be {}.".format(field_name, idx, type_label)
        if item["variable"] in variables:
            return "'variable' '%s' duplicated in survey question %s." % (item["variable"], idx)
        variables.add(item["variable"])
        qtype = item["type"]
        if qtype not in ALLOWED_TYPES:
            return "'{}' in survey question {} is not one of '{}' allowed question types.".format(
                qtype, idx, ", ".join(ALLOWED_TYPES))
        if "default" in item and item["default"] != "":
            if not isinstance(item["default"], ALLOWED_TYPES[qtype]):
                type_label = qtype if qtype in ("integer", "float") else "string"
                return "Default value {} in survey question {} expected to be {}.".format(
                    item["default"], idx, type_label)
        for key in ("min", "max"):
            if key in item and item[key] is not None and not isinstance(item[key], int):
                return "The {} limit in survey question {} expected to be integer.".format(key, idx)
        if qtype in ("multiselect", "multiplechoice"):
            if "choices" not in item:
                return "Survey question {} of type {} must specify choices.".format(idx, qtype)
            if isinstance(item["choices"], str):
                item["choices"] = "\n".join(c for c in item["choices"].splitlines() if c.strip() != "")
            if "default" in item:
                if isinstance(item["default"], str):
                    item["default"] = "\n".join(c for c in item["default"].splitlines() if c.strip() != "")
                    defaults = item["default"].splitlines()
                else:
                    defaults = item["default"]
                if qtype == "multiplechoice" and len(defaults) > 1:
                    return "Multiple Choice (Single Select) can only have one default value."
                if any(default not in item["choices"] for default in defaults):
                    return "Default choice must be answered from the choices listed."
        if "default" in item and isinstance(item["default"], str) and item["default"].startswith("$encrypted$"):
            return "$encrypted$ is a reserved keyword, may not be used for new default in position {}.".format(idx)
    return None


def element_errors(element, data, validate_required=True):
    """_survey_element_validation: what AWX says about one question's answer in `data`."""
    errors = []
    variable = element["variable"]
    if variable not in data and element["required"]:
        if validate_required:
            errors.append("'%s' value missing" % variable)
    elif element["type"] in ("textarea", "text", "password"):
        if variable in data:
            if not isinstance(data[variable], str):
                errors.append("Value %s for '%s' expected to be a string." % (data[variable], variable))
                return errors
            if element.get("min") not in ("", None) and len(data[variable]) < int(element["min"]):
                errors.append("'%s' value %s is too small (length is %s must be at least %s)."
                              % (variable, data[variable], len(data[variable]), element["min"]))
            if element.get("max") not in ("", None) and len(data[variable]) > int(element["max"]):
                errors.append("'%s' value %s is too large (must be no more than %s)."
                              % (variable, data[variable], element["max"]))
    elif element["type"] == "integer":
        if variable in data:
            # AWX's own test, exact type: a bool is not an integer.
            if type(data[variable]) is not int:  # pylint: disable=unidiomatic-typecheck
                errors.append("Value %s for '%s' expected to be an integer." % (data[variable], variable))
                return errors
            if element.get("min") not in ("", None) and data[variable] < int(element["min"]):
                errors.append("'%s' value %s is too small (must be at least %s)."
                              % (variable, data[variable], element["min"]))
            if element.get("max") not in ("", None) and data[variable] > int(element["max"]):
                errors.append("'%s' value %s is too large (must be no more than %s)."
                              % (variable, data[variable], element["max"]))
    elif element["type"] == "float":
        if variable in data:
            if type(data[variable]) not in (float, int):
                errors.append("Value %s for '%s' expected to be a numeric type." % (data[variable], variable))
                return errors
            if element.get("min") not in ("", None) and data[variable] < float(element["min"]):
                errors.append("'%s' value %s is too small (must be at least %s)."
                              % (variable, data[variable], element["min"]))
            if element.get("max") not in ("", None) and data[variable] > float(element["max"]):
                errors.append("'%s' value %s is too large (must be no more than %s)."
                              % (variable, data[variable], element["max"]))
    elif element["type"] == "multiselect":
        if variable in data:
            if type(data[variable]) is not list:  # pylint: disable=unidiomatic-typecheck
                errors.append("'%s' value is expected to be a list." % variable)
            else:
                choices = _choices(element)
                for value in data[variable]:
                    if value not in choices:
                        errors.append("Value %s for '%s' expected to be one of %s." % (value, variable, choices))
    elif element["type"] == "multiplechoice":
        choices = _choices(element)
        if variable in data and data[variable] not in choices:
            errors.append("Value %s for '%s' expected to be one of %s." % (data[variable], variable, choices))
    return errors


def accept_or_ignore(survey, data, exclude_errors=(), ask_variables_on_launch=False, template_extra_vars=None):
    """_accept_or_ignore_variables, survey enabled: (accepted, rejected, errors) for a launch's extra vars."""
    extra_vars = dict(data)
    accepted, rejected, errors = {}, {}, {}
    survey_errors = []
    for element in survey.get("spec", []):
        key = element.get("variable")
        found = element_errors(element, data, validate_required="required" not in exclude_errors)
        if found:
            survey_errors += found
            if key is not None and key in extra_vars:
                rejected[key] = extra_vars.pop(key)
        elif key in extra_vars:
            accepted[key] = extra_vars.pop(key)
    if survey_errors:
        errors["variables_needed_to_start"] = survey_errors
    if ask_variables_on_launch:
        accepted.update(extra_vars)
        extra_vars = {}
    for key in set(template_extra_vars or {}) & set(extra_vars):
        if template_extra_vars[key] == extra_vars[key]:
            extra_vars.pop(key)
    if extra_vars:
        rejected.update(extra_vars)
        if "prompts" not in exclude_errors:
            errors["extra_vars"] = ["Variables %s are not allowed on launch." % ", ".join(str(k) for k in extra_vars)]
    return accepted, rejected, errors


def job_extra_vars(survey, runtime_extra_vars, template_extra_vars=None):
    """_update_unified_job_kwargs: the job's extra vars (template's, then valid survey defaults, then the launch's)."""
    extra_vars = dict(template_extra_vars or {})
    survey_defaults = {}
    for element in survey.get("spec", []):
        default = element.get("default")
        variable = element.get("variable")
        if default is not None and not element_errors(element, {variable: default}):
            survey_defaults[variable] = default
    extra_vars.update(survey_defaults)
    extra_vars.update(runtime_extra_vars)
    return extra_vars


def _job(survey, data, exclude_errors, refuse_on_error):
    """(the job's extra vars, AWX's errors); extra vars None when the errors refuse the request."""
    accepted, _rejected, errors = accept_or_ignore(survey, data, exclude_errors=exclude_errors)
    if errors and refuse_on_error:
        return None, errors
    return job_extra_vars(survey, accepted), errors


def api_launch(survey, extra_vars):
    """POST /api/v2/job_templates/N/launch/ (the API, `awx job_templates launch`, the UI's survey form)."""
    return _job(survey, extra_vars, exclude_errors=("prompts",), refuse_on_error=True)


def workflow_launch(survey, extra_vars):
    """POST /api/v2/workflow_job_templates/N/launch/: the survey attached to the workflow template."""
    return _job(survey, extra_vars, exclude_errors=(), refuse_on_error=True)


def schedule(survey, extra_data=None):
    """A schedule saved with extra_data (None: saved without the field), then fired: (the job's extra vars, errors).

    The save refuses what its validation finds; the firing only logs, and launches with what was accepted."""
    if extra_data is not None:
        _accepted, _rejected, errors = accept_or_ignore(survey, extra_data)
        if errors:
            return None, errors
    return _job(survey, extra_data or {}, exclude_errors=(), refuse_on_error=False)[0], {}


def workflow_node(survey, extra_data=None):
    """A workflow node saved with extra_data (None or {}: no answers), then run by its workflow."""
    _accepted, _rejected, errors = accept_or_ignore(survey, extra_data or {}, exclude_errors=("required",))
    if errors:
        return None, errors
    return _job(survey, extra_data or {}, exclude_errors=(), refuse_on_error=False)[0], {}


LAUNCH_PATHS = {"api": api_launch, "workflow": workflow_launch, "schedule": schedule, "workflow_node": workflow_node}


def launch(survey, answers=None):
    """A job launched from a template with this (uploaded) survey: (the job's extra vars, AWX's errors).

    answers=None is a schedule or a workflow node saved without answers; a dict is an API launch with answers."""
    if answers is None:
        return schedule(survey, None)
    return api_launch(survey, answers)


def uploaded(survey):
    """The survey as AWX stores it after a successful POST (normalized), or an AssertionError with AWX's answer."""
    stored = copy.deepcopy(survey)
    error = upload_error(stored)
    assert error is None, "AWX refuses the survey: %s" % error
    return stored
