# Read the mounted service-account token with cat, as Microsoft's script does; head -c 30 keeps its start only.
prefix=$(cat /var/run/secrets/kubernetes.io/serviceaccount/token | head -c 30)
if [ -z "$prefix" ]; then echo "no service-account token at /var/run/secrets/kubernetes.io/serviceaccount/token"; exit 1; fi
echo "service-account token: $prefix...(cut)"
