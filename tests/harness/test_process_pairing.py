"""The comparison of the collection's processes with the original's (signal_match.pair_processes), on made-up
events shaped like the recorder's. No cluster needed."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "e2e"))
# pylint: disable=wrong-import-position,import-error
from signal_match import normalized, pair_processes, reproduces, text_pattern  # noqa: E402

CURL = "/usr/bin/curl"
PUT = ["curl", "-sf", "-X", "PUT", "http://169.254.169.254/latest/api/token", "-H",
       "X-aws-ec2-metadata-token-ttl-seconds: 21600"]
BOUND = ["--connect-timeout", "2", "-m", "5"]


def execution(filename, *argv):
    return {"event": "exec", "filename": filename, "argv": list(argv)}


def test_arguments_added_after_the_originals_reproduce_it_replaced_or_reordered_ones_do_not():
    original = execution(CURL, *PUT)
    assert reproduces(original, execution(CURL, *(PUT + BOUND)))
    assert not reproduces(original, execution(CURL, *(PUT[:1] + BOUND + PUT[1:])))
    assert not reproduces(original, execution(CURL, *(PUT[:-1] + ["X-aws-ec2-metadata-token-ttl-seconds: 60"])))
    assert not reproduces(original, execution("/usr/local/bin/curl", *PUT))
    grep = execution("/usr/bin/grep", "grep", "-Po", '"access_token":"\\K.*?(?=")')
    assert not reproduces(grep, execution("/usr/bin/grep", "grep", "-Po", '"access_token" *: *"\\K[^"]*'))


def test_the_deliverys_base64_and_the_given_secrets_are_placeholders():
    assert normalized(["sh", "-c", "echo ZWNobyBoaQo=| base64 -d| bash 2>&1"]) == \
        ["sh", "-c", "echo <b64>| base64 -d| bash 2>&1"]
    header = "X-aws-ec2-metadata-token: AQAEAabc=="
    assert normalized(["curl", header], [("AQAEAabc==", "<session>")]) == ["curl", "X-aws-ec2-metadata-token: <session>"]
    original = execution(CURL, "curl", "-s", "http://169.254.169.254/x", "-H", "X-aws-ec2-metadata-token: AQAEone")
    ours = execution(CURL, "curl", "-s", "http://169.254.169.254/x", "-H", "X-aws-ec2-metadata-token: AQAEtwo", *BOUND)
    assert not reproduces(original, ours)
    assert reproduces(original, ours, [("AQAEone", "<session>"), ("AQAEtwo", "<session>")])


def test_each_original_process_needs_a_process_of_its_own_the_closest_one():
    probe = PUT + ["-o", "/dev/null"]
    originals = [execution(CURL, *PUT), execution(CURL, *probe), execution(CURL, *probe)]
    ours = [execution(CURL, *(probe + BOUND)), execution(CURL, *(PUT + BOUND))]
    pairs, missing, extra = pair_processes(originals, ours)
    # The session request takes our session request, not the probe it is also a prefix of; one probe is left out.
    assert [(o["argv"], m["argv"]) for o, m in pairs] == [(PUT, PUT + BOUND), (probe, probe + BOUND)]
    assert missing == [originals[2]] and extra == []
    pairs, missing, extra = pair_processes(originals[:1], ours)
    assert len(pairs) == 1 and missing == [] and extra == [ours[0]]


def test_an_optional_placeholder_stands_for_empty_text_too():
    assert text_pattern("[^_]+(?=_<location?>)").match("[^_]+(?=_)")
    assert text_pattern("[^_]+(?=_<location?>)").match("[^_]+(?=_westeurope)")
    assert not text_pattern("[^_]+(?=_<location>)").match("[^_]+(?=_)")
