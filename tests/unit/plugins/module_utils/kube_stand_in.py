# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in Kubernetes API server on 127.0.0.1, for what the sealed cluster cannot be made to do on cue: another
run claiming the namespace between two requests of a cleanup, or an API server that answers one byte at a time.

It serves the few paths the collection's cleanup, claim and pod watch use (namespaces, and pods, services,
network policies, service accounts, secrets, config maps and persistent volume claims in a namespace), keeps
uid and resourceVersion as Kubernetes does, and honours DeleteOptions' preconditions (409 on a mismatch).
``before(method, path_part, action)`` runs ``action(server)`` once, before the first request that matches is
answered (a path part that ends with "$" must end the path). ``slow(method, path_part, seconds)`` sends the
answers to matching requests one byte every ``seconds``, ``hang(method, path_part)`` never answers them; both end
when the test ends (``close``) or after ``CAP`` seconds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# No stand-in answer lasts longer than this, whatever a test asks: a loop that always ends.
CAP = 60
OURS = {"app.kubernetes.io/managed-by": "defender.attack_simulation"}
PLURALS = ("pods", "services", "networkpolicies", "serviceaccounts", "secrets", "configmaps", "persistentvolumeclaims")
KINDS = dict(pods="Pod", services="Service", networkpolicies="NetworkPolicy", serviceaccounts="ServiceAccount",
             secrets="Secret", configmaps="ConfigMap", persistentvolumeclaims="PersistentVolumeClaim")
_PATH = re.compile(r"^/(?:api/v1|apis/networking\.k8s\.io/v1)/namespaces(?:/(?P<ns>[^/]+)(?:/(?P<plural>[a-z]+)"
                   r"(?:/(?P<name>[^/]+))?)?)?$")


class StandIn(object):
    def __init__(self):
        self.lock = threading.RLock()
        self.versions = itertools.count(100)
        self.uids = itertools.count(1)
        self.namespaces = {}
        self.objects = {}  # (namespace, plural) -> {name: object}
        self.requests = []
        self.hooks = []
        self.slow_answers = []
        self.closed = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _answer(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                status, answer = stand_in.handle(method, self.path, body)
                payload = json.dumps(answer).encode()
                pace = stand_in.pace(method, self.path)
                if pace == "hang":
                    stand_in.closed.wait(CAP)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if pace is None:
                    self.wfile.write(payload)
                    return
                ends = time.monotonic() + CAP
                for byte in payload:  # one byte every `pace` seconds, for at most CAP seconds
                    if stand_in.closed.is_set() or time.monotonic() > ends:
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return
                    stand_in.closed.wait(pace)

            def do_GET(self):
                self._answer("GET")

            def do_DELETE(self):
                self._answer("DELETE")

            def do_POST(self):
                self._answer("POST")

            def do_PATCH(self):
                self._answer("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ what the tests set up
    def metadata(self, name, namespace=None, labels=None, annotations=None):
        meta = {"name": name, "uid": "uid-%d" % next(self.uids), "resourceVersion": str(next(self.versions)),
                "labels": dict(labels or {}), "annotations": dict(annotations or {})}
        if namespace:
            meta["namespace"] = namespace
        return meta

    def add_namespace(self, name, labels=None, annotations=None):
        with self.lock:
            self.namespaces[name] = {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": self.metadata(name, labels=labels, annotations=annotations),
                                     "status": {"phase": "Active"}}
            return self.namespaces[name]

    def add(self, namespace, plural, name, labels=None, **fields):
        with self.lock:
            obj = dict({"apiVersion": "v1", "kind": KINDS[plural],
                        "metadata": self.metadata(name, namespace, labels)}, **fields)
            self.objects.setdefault((namespace, plural), {})[name] = obj
            return obj

    def change_namespace(self, name, labels=None, annotations=None):
        """What a claim's patch does: labels and annotations changed, a new resourceVersion."""
        with self.lock:
            meta = self.namespaces[name]["metadata"]
            meta["labels"].update(labels or {})
            meta["annotations"].update(annotations or {})
            meta["resourceVersion"] = str(next(self.versions))

    def names(self, namespace, plural):
        with self.lock:
            return sorted(self.objects.get((namespace, plural), {}))

    def uid(self, namespace, plural, name):
        with self.lock:
            return self.objects[(namespace, plural)][name]["metadata"]["uid"]

    def before(self, method, path_part, action):
        self.hooks.append([method, path_part, action])

    def slow(self, method, path_part, seconds):
        self.slow_answers.append((method, path_part, seconds))

    def hang(self, method, path_part):
        self.slow_answers.append((method, path_part, "hang"))

    def pace(self, method, path):
        for wanted, part, pace in self.slow_answers:
            if wanted == method and part in path:
                return pace
        return None

    # ------------------------------------------------------------------ the API
    def handle(self, method, raw_path, body):
        url = urlparse(raw_path)
        query = parse_qs(url.query)
        with self.lock:
            self.requests.append((method, url.path))
            for hook in list(self.hooks):
                ends = hook[1].endswith("$")
                if hook[0] == method and (url.path.endswith(hook[1][:-1]) if ends else hook[1] in raw_path):
                    self.hooks.remove(hook)
                    hook[2](self)
        match = _PATH.match(url.path)
        if not match:
            return 404, status_body(404, "NotFound", "no such path %s" % url.path)
        namespace, plural, name = match.group("ns"), match.group("plural"), match.group("name")
        with self.lock:
            if plural is None:
                return self.namespace_call(method, namespace, body)
            if namespace not in self.namespaces:
                return 404, status_body(404, "NotFound", 'namespaces "%s" not found' % namespace)
            store = self.objects.setdefault((namespace, plural), {})
            if name is None and method == "GET":
                items = [o for o in store.values() if selected(o, query.get("labelSelector", [""])[0])]
                return 200, {"kind": KINDS[plural] + "List", "apiVersion": "v1",
                             "metadata": {"resourceVersion": str(next(self.versions))}, "items": items}
            if name not in store:
                return 404, status_body(404, "NotFound", '%s "%s" not found' % (plural, name))
            if method == "GET":
                return 200, store[name]
            if method == "DELETE":
                refused = unmet(store[name], body)
                if refused:
                    return 409, refused
                return 200, store.pop(name)
        return 405, status_body(405, "MethodNotAllowed", method)

    def namespace_call(self, method, name, body):
        if name is None:
            return 200, {"kind": "NamespaceList", "apiVersion": "v1",
                         "metadata": {"resourceVersion": str(next(self.versions))},
                         "items": list(self.namespaces.values())}
        if name not in self.namespaces:
            return 404, status_body(404, "NotFound", 'namespaces "%s" not found' % name)
        found = self.namespaces[name]
        if method == "GET":
            return 200, found
        if method == "DELETE":
            refused = unmet(found, body)
            if refused:
                return 409, refused
            # Kubernetes removes the objects in it a little later; here at once.
            del self.namespaces[name]
            for key in [key for key in self.objects if key[0] == name]:
                del self.objects[key]
            return 200, found
        return 405, status_body(405, "MethodNotAllowed", method)


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason,
            "code": code}


def unmet(obj, options):
    """The 409 answer when DeleteOptions' preconditions do not hold for ``obj``, else None."""
    preconditions = (options or {}).get("preconditions") or {}
    meta = obj["metadata"]
    for field, key in (("uid", "uid"), ("resourceVersion", "resourceVersion")):
        if preconditions.get(field) is not None and preconditions[field] != meta[key]:
            message = "Operation cannot be fulfilled on %s \"%s\": Precondition failed: %s: %s, %s: %s" % (
                obj["kind"], meta["name"], field, preconditions[field], field, meta[key])
            return status_body(409, "Conflict", message)
    return None


def selected(obj, selector):
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, _sep, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True
