# Read the pod's service-account token and ask the API server, with it, whether it may list pods.
token_file=/var/run/secrets/kubernetes.io/serviceaccount/token
if [ ! -r "$token_file" ]; then echo "no service-account token at $token_file"; exit 1; fi
echo "read the service-account token: $(head -c 12 "$token_file")...(cut)"
answer=$(curl -sS -k -m 10 -A kubectl -X POST \
  -H "Authorization: Bearer $(cat "$token_file")" -H "Content-Type: application/json" \
  -d '{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}}}' \
  https://kubernetes.default/apis/authorization.k8s.io/v1/selfsubjectaccessreviews) || exit $?
status=$(printf '%s' "$answer" | tr -d '\n' | grep -o '"status": *{[^}]*}')
if [ -z "$status" ]; then echo "the API server gave no review status: $(printf '%s' "$answer" | head -c 200)"; exit 1; fi
echo "SelfSubjectAccessReview $status"
