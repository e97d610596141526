# Look for the cloud's secret in the environment; the cloud is told apart by probing the metadata service.
imds=http://169.254.169.254
if curl -sf -m 3 --connect-timeout 2 -H "Metadata-Flavor: Google" "$imds/computeMetadata/v1/" >/dev/null; then
  name=GOOGLE_DEFAULT_CLIENT_SECRET
elif curl -sf -m 3 --connect-timeout 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$imds/latest/api/token" >/dev/null; then
  name=AWS_SECRET_ACCESS_KEY
else
  name=AZURE_CREDENTIAL_FILE
fi
value=$(printenv "$name")
if [ -n "$value" ]; then echo "$name is set: $(printf '%s' "$value" | head -c 4)...(cut)"; else echo "$name is not set"; fi
