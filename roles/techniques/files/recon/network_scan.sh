# Scan the API server's /24 for HTTPS, as an attacker maps the cluster from a compromised pod.
nmap -Pn --open kubernetes.default/24 -p 443
