# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the history lives: a folder (by default under the report directory) or an Azure Blob Storage container.

Both hold the same names: ``history/<host>/<start>_<run id>.json`` (history entries, ``_history.py``) beside the
run's files (report JSON, HTML page, Navigator layer) and the fleet's. A scheduled AWX job's files vanish with its
container; a blob container outlives it, so the next job compares with the runs before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile

try:
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import BlobServiceClient, ContentSettings
    HAS_BLOB = True
    BLOB_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover  (the collection declares it; a bare controller may lack it)
    HAS_BLOB = False
    BLOB_IMPORT_ERROR = str(exc)
    AzureError = ResourceExistsError = Exception

ENTRIES = "history"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class HistoryStoreError(Exception):
    """The history store could not be read or written; the message names the store and the object."""


def safe_name(text):
    """A file or blob name part from any text: characters other than letters, digits, . _ - become _."""
    return _UNSAFE.sub("_", str(text or "")).strip(".") or "_"


def entry_name(entry):
    stamp = re.sub(r"[^0-9TZ]", "", str(entry.get("started") or "")) or "unknown"
    return "%s/%s/%s_%s.json" % (ENTRIES, safe_name(entry["host"]), stamp, safe_name(entry.get("run_id") or "no-report"))


def _decode(data, where):
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HistoryStoreError("history entry %s is not JSON: %s" % (where, exc))


class DirectoryStore(object):
    """A folder on the controller."""

    def __init__(self, root):
        if not root:
            raise HistoryStoreError("the history folder is not set")
        self.root = os.path.abspath(os.path.expanduser(root))

    def describe(self, name=""):
        return os.path.join(self.root, name) if name else "folder %s" % self.root

    def put(self, name, data, content_type="application/octet-stream"):
        path = os.path.join(self.root, name)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except (IOError, OSError) as exc:
            raise HistoryStoreError("cannot write %s: %s" % (path, exc))
        return path

    def get(self, name):
        try:
            with open(os.path.join(self.root, name), "rb") as f:
                return f.read()
        except (IOError, OSError):
            return None

    def entries(self, host):
        folder = os.path.join(self.root, ENTRIES, safe_name(host))
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
        except (IOError, OSError):
            return []
        return [_decode(self.get("%s/%s/%s" % (ENTRIES, safe_name(host), n)), os.path.join(folder, n)) for n in names]


class BlobStore(object):
    """An Azure Blob Storage container (azure-storage-blob); created when missing."""

    def __init__(self, container, connection_string=None, account_url=None, credential=None, prefix=""):
        if not HAS_BLOB:
            raise HistoryStoreError("the history store azure_blob needs the Python package azure-storage-blob "
                                    "(pip install azure-storage-blob): %s" % BLOB_IMPORT_ERROR)
        if not container:
            raise HistoryStoreError("the history store azure_blob needs a container name")
        self.container = container
        self.prefix = prefix.strip("/") + "/" if prefix and prefix.strip("/") else ""
        try:
            if connection_string:
                service = BlobServiceClient.from_connection_string(connection_string)
            elif account_url:
                service = BlobServiceClient(account_url, credential=credential or _default_credential())
            else:
                raise HistoryStoreError("the history store azure_blob needs a connection string or an account URL")
            self.account = service.account_name
            self.client = service.get_container_client(container)
            try:
                self.client.create_container()
            except ResourceExistsError:
                pass
        except AzureError as exc:
            raise HistoryStoreError("cannot open blob container %s: %s" % (container, _first_line(exc)))

    def describe(self, name=""):
        where = "blob container %s of storage account %s" % (self.container, self.account)
        return "%s in %s" % (self.prefix + name, where) if name else where

    def put(self, name, data, content_type="application/octet-stream"):
        try:
            self.client.upload_blob(self.prefix + name, data, overwrite=True,
                                    content_settings=ContentSettings(content_type=content_type))
        except AzureError as exc:
            raise HistoryStoreError("cannot write %s: %s" % (self.describe(name), _first_line(exc)))
        return "%s/%s" % (self.client.url, self.prefix + name)

    def get(self, name):
        try:
            return self.client.download_blob(self.prefix + name).readall()
        except AzureError as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise HistoryStoreError("cannot read %s: %s" % (self.describe(name), _first_line(exc)))

    def entries(self, host):
        start = "%s%s/%s/" % (self.prefix, ENTRIES, safe_name(host))
        try:
            names = sorted(b.name for b in self.client.list_blobs(name_starts_with=start) if b.name.endswith(".json"))
            return [_decode(self.client.download_blob(n).readall(), n) for n in names]
        except AzureError as exc:
            raise HistoryStoreError("cannot list the history in %s: %s" % (self.describe(), _first_line(exc)))


def _first_line(exc):
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _default_credential():
    try:
        from azure.identity import DefaultAzureCredential  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise HistoryStoreError("an account URL without a SAS token or key needs azure-identity: %s" % exc)
    return DefaultAzureCredential()


def open_store(kind, path=None, container=None, connection_string=None, account_url=None, credential=None, prefix=""):
    """The store named by ``kind`` (``dir`` or ``azure_blob``)."""
    if kind == "dir":
        return DirectoryStore(path)
    if kind == "azure_blob":
        return BlobStore(container, connection_string=connection_string, account_url=account_url,
                         credential=credential, prefix=prefix or "")
    raise HistoryStoreError("unknown history store %r; use dir or azure_blob" % (kind,))
