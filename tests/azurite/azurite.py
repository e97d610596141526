# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Azurite, Microsoft's Azure Storage emulator, as a blob endpoint on 127.0.0.1 for the history store's tests.

`make azurite` installs it from npm into tests/azurite/node_modules (package.json and package-lock.json here);
``Azurite(folder)`` starts its blob service on a free loopback port with its data in ``folder``, and ``stop()`` ends it.
"""

from __future__ import absolute_import, division, print_function

import os
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "node_modules", ".bin", "azurite-blob")
# Azurite's one built-in account, documented by Microsoft for the emulator (not a secret of anyone's).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Azurite(object):
    def __init__(self, folder):
        if not os.path.exists(PROGRAM):
            raise RuntimeError("Azurite is not installed: run `make azurite` (npm ci in tests/azurite)")
        self.port = free_port()
        self.log = open(os.path.join(folder, "azurite.log"), "w")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [PROGRAM, "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location", folder,
             "--skipApiVersionCheck", "--loose"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Azurite exited with %s; see %s" % (self.process.returncode, self.log.name))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError("Azurite did not listen on 127.0.0.1:%d within 60 s" % self.port)
        self.blob_endpoint = "http://127.0.0.1:%d/%s" % (self.port, ACCOUNT)
        self.connection_string = ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;"
                                  % (ACCOUNT, ACCOUNT_KEY, self.blob_endpoint))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
