"""Offline stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its sanity-test
virtual environments (its download host is not reachable from our machines).

It does what get-pip.py does, from sources we can reach: pip from the Python standard library's ensurepip,
then ``pip install`` of the exact packages ansible-test asks for (pinned, from the package index).
`make setup` copies it to ~/.ansible/test/cache/get_pip_<version>.py, where ansible-test looks first.
"""
import ensurepip
import os
import runpy
import sys

# get-pip.py options that pip itself does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null for itself; the pip run below must read the machine's pip.conf.
os.environ.pop("PIP_CONFIG_FILE", None)
sys.argv = ["pip", "install"] + [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
