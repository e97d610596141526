# Look for the cloud's secret in the shell's variables with set | grep, as Microsoft's script does; the cloud is
# told apart by probing the metadata service. Only the value's first characters are printed.
if curl -sf -H "Metadata-Flavor: Google" http://169.254.169.254/computeMetadata/v1/ -o /dev/null --connect-timeout 2 -m 5; then
  name=GOOGLE_DEFAULT_CLIENT_SECRET
elif curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" -o /dev/null --connect-timeout 2 -m 5; then
  name=AWS_SECRET_ACCESS_KEY
else
  name=AZURE_CREDENTIAL_FILE
fi
case $name in
  GOOGLE_DEFAULT_CLIENT_SECRET) found=$(set | grep GOOGLE_DEFAULT_CLIENT_SECRET=) ;;
  AWS_SECRET_ACCESS_KEY) found=$(set | grep AWS_SECRET_ACCESS_KEY=) ;;
  *) found=$(set | grep AZURE_CREDENTIAL_FILE=) ;;
esac
value=${found#*=}
if [ -n "$found" ]; then echo "$name is set: ${value:0:4}...(cut)"; else echo "$name is not set"; fi
