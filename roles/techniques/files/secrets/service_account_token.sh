# Read the mounted service-account token; show only its first 30 characters.
token_file=/var/run/secrets/kubernetes.io/serviceaccount/token
if [ ! -r "$token_file" ]; then echo "no service-account token at $token_file"; exit 1; fi
echo "service-account token: $(head -c 30 "$token_file")...(cut)"
