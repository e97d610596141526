# Ask the cloud instance metadata service for an identity token: GCP, then AWS (IMDSv2), then Azure.
imds=http://169.254.169.254
ask() { curl -sf -m 3 --connect-timeout 2 "$@"; }
cut_short() { printf '%s' "$1" | head -c 8; printf '...(cut)'; }
json_value() { printf '%s' "$1" | tr -d '\n' | sed -n "s/.*\"$2\" *: *\"\\([^\"]*\\)\".*/\\1/p"; }

answer=$(ask -H "Metadata-Flavor: Google" "$imds/computeMetadata/v1/instance/service-accounts/default/token")
token=$(json_value "$answer" access_token)
if [ -n "$token" ]; then echo "cloud: GCP"; echo "token: $(cut_short "$token")"; exit 0; fi

session=$(ask -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" "$imds/latest/api/token")
if [ -n "$session" ]; then
  for role in $(ask -H "X-aws-ec2-metadata-token: $session" "$imds/latest/meta-data/iam/security-credentials/"); do
    answer=$(ask -H "X-aws-ec2-metadata-token: $session" "$imds/latest/meta-data/iam/security-credentials/$role")
    key=$(json_value "$answer" SecretAccessKey)
    if [ -n "$key" ]; then echo "cloud: AWS"; echo "role $role secret key: $(cut_short "$key")"; exit 0; fi
  done
fi

compute="$imds/metadata/instance/compute"
subscription=$(ask -H Metadata:true "$compute/subscriptionId?api-version=2017-08-01&format=text")
group=$(ask -H Metadata:true "$compute/resourceGroupName?api-version=2017-08-01&format=text")
location=$(ask -H Metadata:true "$compute/location?api-version=2017-08-01&format=text")
token_url="$imds/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com"
token=$(json_value "$(ask -H Metadata:true "$token_url")" access_token)
if [ -z "$token" ] && [ -n "$subscription" ]; then
  # AKS node resource groups are named MC_<group>_<cluster>_<location>; the kubelet identity is <cluster>-agentpool.
  cluster=$(printf '%s' "$group" | sed -n "s/^MC_.*_\\(.*\\)_${location}\$/\\1/p")
  identity="/subscriptions/$subscription/resourcegroups/$group/providers/Microsoft.ManagedIdentity/userAssignedIdentities/$cluster-agentpool"
  token=$(json_value "$(ask -H Metadata:true "$token_url&msi_res_id=$identity")" access_token)
fi
if [ -n "$token" ]; then echo "cloud: Azure"; echo "token: $(cut_short "$token")"; exit 0; fi
echo "No token found"
