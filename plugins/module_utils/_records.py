# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Technique result records: judge one delivery by the technique action, its output redacted (_redact.py).

The markers
-----------
The technique action (``_technique.py``) runs curl in the attacker; curl sends the technique to the victim's web
shell. What comes back is the web shell's answer (an HTML comment, then the script's output) followed by marker
lines, each at the start of a line, nothing after the value::

    @@technique-exit=<rc>        printed by the victim's bash when the script ends (its EXIT trap)
    @@http-status=<code>         curl's write-out: the web shell's HTTP status
    @@duration=<seconds>         curl's write-out: its own time for the request

The web shell scenario sends ``whoami`` alone, as the original does: its answer has no ``@@technique-exit``.
When a marker appears more than once, the last one counts (a technique could print the text itself).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import technique
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import format_time_ms

MARKER_TECHNIQUE_EXIT = "@@technique-exit="
MARKER_HTTP_STATUS = "@@http-status="
MARKER_DURATION = "@@duration="

DEFAULT_WEBSHELL_URL = "http://mdc-simulation-victim/ws.php"

STATUS_PASSED = "passed"
STATUS_FAILED = "failed"
STATUS_UNREACHABLE = "unreachable"
STATUS_SKIPPED = "skipped"
STATUS_TIMED_OUT = "timed_out"
STATUSES = (STATUS_PASSED, STATUS_FAILED, STATUS_UNREACHABLE, STATUS_SKIPPED, STATUS_TIMED_OUT)
# The statuses that make a run fail (with fail_on_technique_failure).
FAILED_STATUSES = (STATUS_FAILED, STATUS_UNREACHABLE, STATUS_TIMED_OUT)

OUTPUT_MAX_LINES = 40
OUTPUT_MAX_CHARS = 4000

_MARKER_LINE = re.compile(r"^\s*(@@(?:technique-exit|http-status|duration)=)\s*(\S*)\s*$")
# The victim's ws.php answers with an HTML comment (a copyright header) before the command's output.
_LEADING_HTML_COMMENT = re.compile(r"^\s*<!--.*?-->[ \t]*\r?\n?", re.DOTALL)
_CURL_ERROR = re.compile(r"curl: \(\d+\)\s*(.+)")

# Fallback texts for the curl exit codes a delivery meets, when curl printed nothing (-s without -S).
CURL_ERRORS = {
    3: "malformed URL",
    6: "could not resolve host",
    7: "failed to connect to host",
    22: "HTTP error status returned",
    28: "operation timed out",
    35: "TLS handshake failed",
    52: "empty reply from server",
    56: "failure receiving network data",
}
CURL_TIMED_OUT = 28
# HTTP statuses that say the web shell is not there (a missing page, a refused request): the run stops.
WEBSHELL_MISSING = (401, 403, 404, 405)

# The line each technique's script prints when it did its part (roles/techniques/files/<scenario>/<name>.sh): its
# exit status alone cannot tell a script that ran from a web shell that answered something else.
SUCCESS_LINES = {
    "recon.access_review": r'^SelfSubjectAccessReview "status": *\{',
    "recon.network_scan": r"^Nmap done: \d+ IP address",
    "lateral_movement.metadata_token": r"^(cloud: (GCP|AWS|Azure)|No token found)$",
    "secrets.git_credentials": r"^found /\S*\.git-credentials:$",
    "secrets.service_account_token": r"^service-account token: ",
    "secrets.cloud_secret_env": r"^[A-Z_]+ is (set: |not set$)",
    "crypto.cpu_optimization": r"^modprobe msr allow_writes=on: exit \d+",
    "crypto.ld_so_preload": r"^ld\.so\.preload: (created|refused) for ",
    "crypto.miner_download": r"^downloaded xmrig to /\S*xmrig \(\d+ bytes\)$",
    "crypto.miner_run": r"^/\S*xmrig exited \d+$",
    "ti_domain.test_domain": r"^request to mdc-eicar\.alerts\.security\.azure\.com sent: curl exit \d+$",
}
# whoami's whole answer: one POSIX user name (or a numeric uid), nothing else.
_USER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$|^\d+$")
# What a web shell that does not execute commands serves instead: its PHP source, an HTML page, PHP's own errors.
_NOT_EXECUTED = re.compile(r"(?i)<\?php|<html|<body|<!doctype|<br\s*/?>|shell_exec\(|\bdisabled\b|"
                           r"\b(?:fatal|parse) error\b|\b404 not found\b")
EXCERPT_CHARS = 200


class RecordError(ValueError):
    """A delivery or technique id that cannot make a record; the message names it."""


# --- parsing --------------------------------------------------------------------------------------

def _int_marker(markers, marker):
    value = markers.get(marker)
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise RecordError("marker %s%s is not an integer exit status" % (marker, value))


def _float_marker(markers, marker):
    value = markers.get(marker)
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def bound_output(text, max_lines=OUTPUT_MAX_LINES, max_chars=OUTPUT_MAX_CHARS):
    """The tail of ``text``: at most ``max_lines`` lines and ``max_chars`` characters, marked when cut."""
    lines = (text or "").splitlines()
    cut = len(lines) > max_lines
    tail = "\n".join(lines[-max_lines:])
    if len(tail) > max_chars:
        tail, cut = tail[-max_chars:], True
    return ("[\u2026 earlier output cut]\n" + tail) if cut else tail


def _curl_error(stderr, rc):
    for line in reversed((stderr or "").splitlines()):
        match = _CURL_ERROR.search(line)
        if match:
            return match.group(1).strip()
    return CURL_ERRORS.get(rc, "see curl's exit code")


def _last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _detail(output):
    last = _last_line(output)
    return ": %s" % redact(last)[:200] if last else ""


def _excerpt(answer):
    """The start of an answer on one line, redacted and bounded, for a message."""
    text = " ".join((answer or "").split())
    text = redact(text)
    return repr(text[:EXCERPT_CHARS] + ("\u2026" if len(text) > EXCERPT_CHARS else "")) if text else "nothing"


def _not_executed(technique_id, webshell_url, answer):
    return (STATUS_UNREACHABLE, None, "%s: the web shell %s answered without running the command: %s"
            % (technique_id, webshell_url, _excerpt(answer)))


def has_success_line(technique_id, answer):
    """True when the answer holds the line the technique's script prints when it did its part."""
    pattern = SUCCESS_LINES.get(technique_id)
    return bool(pattern) and re.search(pattern, answer or "", re.MULTILINE) is not None


def _judge_whoami(technique_id, webshell_url, answer):
    # The web shell's command is exactly whoami, as in the original: one user name proves it ran.
    lines = [line.strip() for line in (answer or "").splitlines() if line.strip()]
    if len(lines) == 1 and _USER_NAME.match(lines[0]) and not _NOT_EXECUTED.search(answer):
        return STATUS_PASSED, 0, None
    return _not_executed(technique_id, webshell_url, answer)


def delivery_markers(stdout):
    """Split what the attacker's curl printed into (markers, answer): the last value of each marker, and the
    web shell's answer with the marker lines and its leading HTML comment removed."""
    markers = {}
    kept = []
    for line in (stdout or "").splitlines():
        match = _MARKER_LINE.match(line)
        if match:
            markers[match.group(1)] = match.group(2)
        else:
            kept.append(line)
    answer = _LEADING_HTML_COMMENT.sub("", "\n".join(kept), count=1)
    return markers, answer.strip("\n")


def _judge_delivery(technique_id, delivery, markers, answer, webshell_url, timeout):
    """(status, rc, message) of one technique from its delivery."""
    if delivery.get("error"):
        return (STATUS_UNREACHABLE, None, "%s was not delivered: %s" % (technique_id, redact(delivery["error"])))
    curl_rc = delivery.get("rc")
    # curl says "Operation timed out" when -m ends a request the web shell had accepted; not a connect timeout.
    slow = curl_rc == CURL_TIMED_OUT and "Connection timed out" not in (delivery.get("stderr") or "")
    if delivery.get("timed_out") or slow:
        return (STATUS_TIMED_OUT, None,
                "%s did not finish within its bound of %s s; the run went on with the next technique"
                % (technique_id, timeout))
    if curl_rc:
        return (STATUS_UNREACHABLE, None,
                "web shell %s not reachable from the attacker: curl exit %d: %s"
                % (webshell_url, curl_rc, redact(_curl_error(delivery.get("stderr"), curl_rc))))
    http_status = _int_marker(markers, MARKER_HTTP_STATUS)
    if http_status in WEBSHELL_MISSING:
        return (STATUS_UNREACHABLE, None, "web shell %s answered HTTP %d: no web shell there"
                % (webshell_url, http_status))
    if http_status is not None and http_status != 200:
        return (STATUS_FAILED, None, "%s: the web shell %s answered HTTP %d%s"
                % (technique_id, webshell_url, http_status, _detail(answer)))
    if technique_id == "webshell.whoami":
        return _judge_whoami(technique_id, webshell_url, answer)
    technique_rc = _int_marker(markers, MARKER_TECHNIQUE_EXIT)
    evidence = has_success_line(technique_id, answer)
    if technique_rc is None and not evidence:
        # The victim's bash prints the marker whatever the script does: without it, nothing ran in the victim.
        return _not_executed(technique_id, webshell_url, answer)
    if technique_rc is None:
        return (STATUS_FAILED, None,
                "%s: the web shell %s answered without %s<rc>: the script did not run to its end%s"
                % (technique_id, webshell_url, MARKER_TECHNIQUE_EXIT, _detail(answer)))
    if technique_rc != 0:
        return (STATUS_FAILED, technique_rc, "%s exited with rc %d%s" % (technique_id, technique_rc, _detail(answer)))
    if not evidence:
        return (STATUS_FAILED, None, "%s exited 0 without the line its script prints when it did its part (%s)%s"
                % (technique_id, SUCCESS_LINES.get(technique_id), _detail(answer)))
    return STATUS_PASSED, 0, None


def delivery_record(technique_id, script, delivery, started, finished, webshell_url=DEFAULT_WEBSHELL_URL,
                    timeout=None):
    """The technique result record of one delivery by the technique action.

    ``delivery`` is what the exec in the attacker gave: ``stdout`` (the web shell's answer and curl's marker
    lines), ``stderr``, ``rc`` (curl's exit status), ``timed_out`` (the controller's bound was hit) and ``error``
    (the exec itself failed: the attacker pod gone, the API refused). ``started`` and ``finished`` are the
    controller's clock around the exec (epoch seconds); ``duration`` is curl's own time when it printed it.
    Everything taken from the exec is redacted and bounded here: nothing raw leaves this function."""
    try:
        planned = technique(technique_id)
    except KeyError as exc:
        raise RecordError(exc.args[0])
    markers, answer = delivery_markers(delivery.get("stdout"))
    stderr = (delivery.get("stderr") or "").strip("\n")
    status, rc, message = _judge_delivery(planned["id"], delivery, markers, answer, webshell_url, timeout)
    output = answer + ("\n" if answer and stderr else "") + stderr
    duration = _float_marker(markers, MARKER_DURATION)
    if duration is None and started is not None and finished is not None:
        duration = finished - started
    return dict(id=planned["id"], scenario=planned["scenario"], technique=planned["name"], mitre=planned["mitre"],
                command=script, status=status, rc=rc, started=format_time_ms(started),
                finished=format_time_ms(finished), duration=round(duration or 0.0, 3),
                output=bound_output(redact(output)), message=message)


def skipped_record(technique_id, script, reason, started=None):
    """The record of a technique that did not run (check mode)."""
    planned = technique(technique_id)
    moment = format_time_ms(started)
    return dict(id=planned["id"], scenario=planned["scenario"], technique=planned["name"], mitre=planned["mitre"],
                command=script, status=STATUS_SKIPPED, rc=None, started=moment, finished=moment, duration=0.0,
                output="", message="skipped: %s" % reason)
