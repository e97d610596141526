# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Redaction, one home: every pattern that cuts a secret short, and the kubeconfig's own credentials.

``redact`` is the second net after the technique scripts (which print only prefixes) and the net for every
message the collection writes (errors, reports, JUnit); ``redact_kubeconfig`` replaces the credentials of the
connection options a module was given. Each pattern is unit-tested on its own (tests/unit/.../test_redact.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

CUT = "\u2026[cut]"

_B64URL = r"[A-Za-z0-9_-]"
_JWT = re.compile(r"eyJ%s{5,}\.%s{5,}\.%s*" % (_B64URL, _B64URL, _B64URL))
# Any scheme (Bearer, Basic, token, Negotiate...) or none: the credential is the header's last word.
_AUTHORIZATION = re.compile(r"(?i)(\b(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|negotiate|digest)\s+)?)"
                            r"([^\s\"',;]+)")
# scheme://userinfo@: a user name alone can be a token (https://ghp_...@github.com), so is a password.
_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s/@]+)(@)")
_TOKEN_LIKE_USER = re.compile(r"^(?:gh[a-z]_|github_pat_|glpat-)|^[A-Za-z0-9_.~+=-]{20,}$")
# Query parameters that carry a credential: SAS signatures, OAuth tokens and codes, presigned URLs' signatures.
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:sig|signature|access_token|refresh_token|id_token|token|code|client_secret|password|api[_-]?key|"
    r"x-amz-signature|x-amz-security-token|x-amz-credential|x-goog-signature|x-goog-credential)=)([^&\s#\"'<>]+)")
# Tokens that say what they are whatever surrounds them: GitHub's, GitLab's, Slack's, Google's OAuth access tokens,
# AWS session tokens (base64 of their "origin_ec" header).
_BARE_TOKEN = re.compile(r"\b((?:gh[pousr]_|github_pat_|glpat-|xox[abpors]-|ya29\.|IQoJb3JpZ2luX2Vj)[A-Za-z0-9_/+=.-]{10,})")
_AWS_KEY_ID = re.compile(r"\b((?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|A3T[A-Z0-9])[A-Z0-9]{12,})\b")
_JSON_SECRET = re.compile(
    r"(?i)(\"(?:access_token|refresh_token|id_token|client_secret|secretaccesskey|sessiontoken|token|"
    r"secret|password)\"\s*:\s*\")([^\"]*)(\")")
_ENV_SECRET = re.compile(
    r"(?i)(\b(?:aws_secret_access_key|aws_session_token|aws_security_token|google_default_client_secret|"
    r"azure_client_secret)[ \t]*[=:][ \t]*[\"']?)([^\s\"']+)")
# NAME_SECRET=value, DB_PASSWORD=value, GITHUB_TOKEN=value, AccountKey=value: an assignment whose name says it
# holds a credential.
_ASSIGNED_SECRET = re.compile(
    r"(?i)(\b[A-Za-z0-9_.-]*(?:secret|token|password|passwd|api_?key|access_?key|private_?key|account_?key|"
    r"credentials?)[ \t]*=[ \t]*[\"']?)([^\s\"';&]+)")

# The kubeconfig's fields that are credentials; a message that shows a kubeconfig shows them as "<redacted>".
KUBECONFIG_SECRET_FIELDS = ("token", "password", "client-key-data", "client-certificate-data", "id-token",
                            "refresh-token", "access-token", "client-secret")
REDACTED = "<redacted>"


def _prefix(value, keep):
    """``value`` cut to at most ``keep`` characters and never whole; values already cut stay as they are."""
    if not value or "\u2026" in value or value == REDACTED:
        return value
    return value[:min(keep, len(value) // 2)] + CUT


def _cut_group(keep):
    def cut(match):
        return match.group(1) + _prefix(match.group(2), keep) + "".join(match.groups()[2:])
    return cut


def _cut_whole(keep):
    def cut(match):
        return _prefix(match.group(1), keep)
    return cut


def _first_character(value):
    """``value`` as its first character and an ellipsis; a value already cut that way stays as it is."""
    if len(value) == 2 and value.endswith("\u2026"):
        return value
    return value[:1] + "\u2026"


def _cut_userinfo(match):
    user, colon, password = match.group(2).partition(":")
    if not colon:
        user = _first_character(user)
    else:
        password = _first_character(password) if password else password
        user = _first_character(user) if _TOKEN_LIKE_USER.search(user) else user
    return match.group(1) + user + colon + password + match.group(3)


def redact(text):
    """``text`` with every secret it holds cut short. Idempotent: redacting twice gives the same text.

    - a JWT (``eyJ...`` in three dot-separated base64url parts): its first 10 characters
    - ``Authorization: <scheme> <credential>`` (Bearer, Basic, token...): the credential's first 6 characters
    - URL credentials: ``scheme://user:password@host`` keeps the password's first character, and the user
      name's too when it looks like a token (``ghp_...``, ``github_pat_...``, ``glpat-...``, 20 characters or
      more); ``scheme://token@host`` (a user name alone) keeps its first character
    - query parameters ``sig``, ``signature``, ``access_token``, ``token``, ``code``, ``client_secret``,
      ``password``, ``api_key`` and the presigned-URL signatures: their first 6 characters
    - GitHub, GitLab and Slack tokens, Google OAuth access tokens and AWS session tokens anywhere (``ghp_...``,
      ``ya29...``, ``IQoJ...``), AWS access key ids, ``"access_token"``/
      ``"SecretAccessKey"``/``"Token"``... JSON values, ``AWS_SECRET_ACCESS_KEY=...``-style variables and any
      ``NAME_SECRET=``, ``..._TOKEN=``, ``..._PASSWORD=``, ``...KEY=`` assignment: their first 6 characters
    """
    if text is None:
        return None
    text = str(text)
    text = _AUTHORIZATION.sub(_cut_group(6), text)
    text = _JWT.sub(lambda match: _prefix(match.group(0), 10), text)
    text = _URL_USERINFO.sub(_cut_userinfo, text)
    text = _QUERY_SECRET.sub(_cut_group(6), text)
    text = _JSON_SECRET.sub(_cut_group(6), text)
    text = _ENV_SECRET.sub(_cut_group(6), text)
    text = _ASSIGNED_SECRET.sub(_cut_group(6), text)
    text = _BARE_TOKEN.sub(_cut_whole(6), text)
    text = _AWS_KEY_ID.sub(_cut_whole(6), text)
    return text


def redact_kubeconfig(text, params):
    """``text`` with every credential of a kubeconfig given as a dict (and api_key) replaced by "<redacted>"."""
    for secret in sorted(set(_kubeconfig_secrets(params.get("kubeconfig")) + [params.get("api_key")]) - {None, ""},
                         key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_message(text, params):
    """A message about a call made with ``params`` (a module's connection options): the kubeconfig's
    credentials replaced, then every pattern of ``redact``."""
    return redact(redact_kubeconfig(str(text), params or {}))


def _kubeconfig_secrets(value):
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += [item] if key in KUBECONFIG_SECRET_FIELDS and isinstance(item, str) else _kubeconfig_secrets(item)
        return found
    if isinstance(value, list):
        return [secret for item in value for secret in _kubeconfig_secrets(item)]
    return []
