# Read the pod's service-account token and ask the API server, with it, whether it may get pods in default.
# The same command line as Microsoft's script; the status is printed by grep -Po, as there.
status=$(curl -s -k -A kubectl -H "Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)" -H "Content-Type: application/json" -X POST -d '{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}},"status":{}}' https://kubernetes.default/apis/authorization.k8s.io/v1/selfsubjectaccessreviews | grep -Po '"status":\{\K.*?(?=\})')
if [ -z "$status" ]; then echo "the API server's answer had no review status"; exit 1; fi
echo "SelfSubjectAccessReview \"status\":{$status}"
