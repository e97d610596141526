# Ask the cloud instance metadata service for an identity token: GCP, then AWS (IMDSv2), then Azure, with the
# command lines, parsers and branches of Microsoft's script. The time bounds (--connect-timeout, -m) are additions, after them.
shown() { cut=$(printf '%s' "$1" | head -c 30); echo "${cut:0:8}...(cut)"; }  # the original's head -c 30; 8 shown

if token=$(curl -s -H "Metadata-Flavor: Google" http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token --connect-timeout 2 -m 5 | grep -Po '"access_token":"\K.*?(?=")'); then
  cloud=GCP
elif session=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" --connect-timeout 2 -m 5); then
  cloud=AWS
  for role in $(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials -H "X-aws-ec2-metadata-token: $session" --connect-timeout 2 -m 5); do
    echo "role: $role"
    token=$(curl -s "http://169.254.169.254/latest/meta-data/iam/security-credentials/$role" -H "X-aws-ec2-metadata-token: $session" --connect-timeout 2 -m 5 | grep -Po '"Token" : "\K.*?(?=")')
  done
else
  cloud=Azure
  subscription=$(curl -s -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/subscriptionId?api-version=2017-08-01&format=text" --connect-timeout 2 -m 5)
  group=$(curl -s -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/resourceGroupName?api-version=2017-08-01&format=text" --connect-timeout 2 -m 5)
  location=$(curl -s -H Metadata:true --noproxy "*" "http://169.254.169.254/metadata/instance/compute/location?api-version=2017-08-01&format=text" --connect-timeout 2 -m 5)
  # AKS node resource groups are named MC_<group>_<cluster>_<location>; the kubelet identity is <cluster>-agentpool.
  cluster=$(echo "$group" | grep -Po "[^_]+(?=_$location)")
  identity="/subscriptions/$subscription/resourcegroups/$group/providers/Microsoft.ManagedIdentity/userAssignedIdentities/$cluster-agentpool"
  answer=$(curl -sf -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com" --connect-timeout 2 -m 5) ||
    answer=$(curl -sf -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com&msi_res_id=$identity" --connect-timeout 2 -m 5)
  token=$(printf '%s' "$answer" | grep -Po '"access_token":"\K.*?(?=")')
fi
if [ -n "$token" ]; then echo "cloud: $cloud"; echo "token: $(shown "$token")"; else echo "No token found"; fi
