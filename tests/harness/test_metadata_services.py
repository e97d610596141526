"""The metadata-service stand-ins (tests/e2e/metadata_services.py) answer as their clouds document, on loopback.

No cluster needed: each service runs on 127.0.0.1 here. The parsers of Microsoft's scripts (grep -Po, the exact
expressions the technique scripts run) are applied to their answers, so a stand-in that drifted from its cloud's
format would show here first."""
import json
import pathlib
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import metadata_services  # noqa: E402  pylint: disable=wrong-import-position,import-error
from metadata_services import AwsImdsV2, AzureImds, GcpMetadata  # noqa: E402  pylint: disable=wrong-import-position,import-error

GCP_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"
AZURE_TOKEN = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com"
AZURE_COMPUTE = "/metadata/instance/compute/%s?api-version=2017-08-01&format=text"
AWS_ROLES = "/latest/meta-data/iam/security-credentials"
ACCESS_TOKEN = '"access_token":"\\K.*?(?=")'  # the original's expressions, as the technique script runs them
AWS_TOKEN = '"Token" : "\\K.*?(?=")'


def ask(service, path, method="GET", headers=None):
    request = urllib.request.Request(service.url + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers.items())


def grep_po(expression, text):
    """What `grep -Po <expression>` prints for this text, and its exit status."""
    done = subprocess.run(["grep", "-Po", expression], input=text, capture_output=True, text=True, check=False)
    return done.stdout.strip(), done.returncode


@pytest.fixture(params=[AzureImds, AwsImdsV2, GcpMetadata], ids=lambda c: c.cloud)
def any_service(request):
    with request.param("127.0.0.1", 0) as service:
        yield service


@pytest.fixture
def azure():
    with AzureImds("127.0.0.1", 0) as service:
        yield service


@pytest.fixture
def aws():
    with AwsImdsV2("127.0.0.1", 0) as service:
        yield service


@pytest.fixture
def gcp():
    with GcpMetadata("127.0.0.1", 0) as service:
        yield service


def test_outside_the_sealed_namespace_no_service_goes_on_the_metadata_address():
    assert not metadata_services.in_the_sealed_namespace()
    for service in (AzureImds, AwsImdsV2, GcpMetadata):
        with pytest.raises(RuntimeError, match="refusing to put an address on 169.254.169.254"):
            service()
    shown = subprocess.run(["ip", "-o", "address", "show"], capture_output=True, text=True, check=True).stdout
    assert "169.254.169.254" not in shown


def test_azure_needs_the_metadata_header_and_an_api_version(azure):
    status, body, _headers = ask(azure, AZURE_COMPUTE % "location")
    assert status == 400 and "Required metadata header not specified" in body
    status, body, _headers = ask(azure, "/metadata/instance/compute/location?format=text", headers={"Metadata": "true"})
    assert status == 400 and "api-version was not specified" in body
    assert ask(azure, AZURE_COMPUTE % "location", method="PUT", headers={"Metadata": "true"})[0] == 405


def test_azure_compute_fields_are_text_and_name_an_aks_node_resource_group(azure):
    fields = {name: ask(azure, AZURE_COMPUTE % name, headers={"Metadata": "true"}) for name in
              ("subscriptionId", "resourceGroupName", "location")}
    assert all(status == 200 for status, _body, _headers in fields.values())
    group, location = fields["resourceGroupName"][1], fields["location"][1]
    assert group == "MC_sim-rg_sim-aks_westeurope" and location == "westeurope"
    # The original's parser of the cluster name, on what this IMDS answers.
    assert grep_po("[^_]+(?=_%s)" % location, group) == ("sim-aks", 0)


def test_azure_token_fails_without_an_identity_and_answers_the_kubelet_identitys_msi_res_id(azure):
    status, body, _headers = ask(azure, AZURE_TOKEN, headers={"Metadata": "true"})
    assert status == 400 and "Multiple user assigned identities exist" in json.loads(body)["error_description"]
    sub, group = azure.compute["subscriptionId"], azure.compute["resourceGroupName"]
    wrong = "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x" % (sub, group)
    status, body, _headers = ask(azure, AZURE_TOKEN + "&msi_res_id=" + wrong, headers={"Metadata": "true"})
    assert status == 400 and json.loads(body)["error_description"] == "Identity not found"
    identity = wrong[:-1] + "sim-aks-agentpool"  # what the original derives from the compute fields
    status, body, _headers = ask(azure, AZURE_TOKEN + "&msi_res_id=" + identity, headers={"Metadata": "true"})
    assert status == 200
    answer = json.loads(body)
    assert answer["token_type"] == "Bearer" and answer["resource"] == "https://management.azure.com"
    assert answer["client_id"] == azure.kubelet["client_id"]
    # Compact JSON, as IMDS sends it: the original's expression finds the token whole.
    assert grep_po(ACCESS_TOKEN, body) == (azure.token, 0)
    header, claims, signature = azure.token.split(".")
    assert header.startswith("eyJ") and len(signature) > 300
    assert json.loads(metadata_services.base64.urlsafe_b64decode(claims + "==="))["xms_mirid"] == identity


def test_aws_requires_an_imdsv2_session_with_a_valid_ttl(aws):
    assert ask(aws, AWS_ROLES)[0] == 401  # IMDSv1 refused
    assert ask(aws, "/latest/api/token", method="PUT")[0] == 400
    assert ask(aws, "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21601"})[0] == 400
    forwarded = {"X-aws-ec2-metadata-token-ttl-seconds": "21600", "X-Forwarded-For": "10.0.0.1"}
    assert ask(aws, "/latest/api/token", method="PUT", headers=forwarded)[0] == 403
    status, session, headers = ask(aws, "/latest/api/token", method="PUT",
                                   headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    assert status == 200 and len(session) == 56 and headers["X-Aws-Ec2-Metadata-Token-Ttl-Seconds"] == "21600"
    assert ask(aws, AWS_ROLES, headers={"X-aws-ec2-metadata-token": "AQAE" + "x" * 52})[0] == 401


def test_aws_lists_the_node_role_and_answers_its_credentials_pretty_printed(aws):
    session = ask(aws, "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})[1]
    status, roles, _headers = ask(aws, AWS_ROLES, headers={"X-aws-ec2-metadata-token": session})
    assert status == 200 and roles == aws.role
    status, body, _headers = ask(aws, AWS_ROLES + "/" + roles, headers={"X-aws-ec2-metadata-token": session})
    credentials = json.loads(body)
    assert status == 200 and credentials["Code"] == "Success" and credentials["Type"] == "AWS-HMAC"
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["SecretAccessKey"]) == 40
    assert '  "Token" : "' in body  # EC2's layout, which the original's expression relies on
    assert grep_po(AWS_TOKEN, body) == (aws.token, 0)
    assert aws.token.startswith("IQoJb3JpZ2luX2Vj") and len(aws.token) > 900
    assert set(aws.secrets()) >= {aws.token, credentials["SecretAccessKey"], session}
    assert ask(aws, AWS_ROLES + "/other-role", headers={"X-aws-ec2-metadata-token": session})[0] == 404


def test_gcp_needs_the_metadata_flavor_header(gcp):
    status, body, headers = ask(gcp, GCP_TOKEN)
    assert status == 403 and "Missing Metadata-Flavor:Google header" in body and headers["Metadata-Flavor"] == "Google"
    assert ask(gcp, GCP_TOKEN, headers={"Metadata-Flavor": "Google", "X-Forwarded-For": "10.0.0.1"})[0] == 403
    status, body, _headers = ask(gcp, "/computeMetadata/v1/", headers={"Metadata-Flavor": "Google"})
    assert status == 200 and body.splitlines() == ["instance/", "oslogin/", "project/"]


def test_gcp_token_is_compact_json_the_originals_expression_reads_whole(gcp):
    status, body, headers = ask(gcp, GCP_TOKEN, headers={"Metadata-Flavor": "Google"})
    assert status == 200 and headers["Metadata-Flavor"] == "Google"
    assert json.loads(body)["token_type"] == "Bearer" and gcp.token.startswith("ya29.")
    assert grep_po(ACCESS_TOKEN, body) == (gcp.token, 0)


def test_each_service_refuses_what_the_other_clouds_ask(any_service):
    """The answers the scripts' other branches meet: no token, and curl -f fails (a status of 400 or more)."""
    gcp_status, gcp_body, _headers = ask(any_service, GCP_TOKEN, headers={"Metadata-Flavor": "Google"})
    put_status = ask(any_service, "/latest/api/token", method="PUT",
                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})[0]
    if any_service.cloud != "gcp":
        assert gcp_status >= 400 and grep_po(ACCESS_TOKEN, gcp_body)[1] == 1
    if any_service.cloud != "aws":
        assert put_status >= 400


@pytest.mark.parametrize("cloud", sorted(metadata_services.SERVICES))
def test_every_instance_hands_out_new_secrets(cloud):
    """Fresh random secrets per service, so that a test cannot pass on a value written in advance."""
    with metadata_services.SERVICES[cloud]("127.0.0.1", 0) as one, metadata_services.SERVICES[cloud]("127.0.0.1", 0) as two:
        assert one.token != two.token and one.token in one.secrets()
        assert all(len(secret) >= 40 for secret in one.secrets())
