"""Harness tests of the sealed single-node cluster that tests/cluster/up brings up.

Every probe of the sealing runs inside a pod of the sealed namespace; nothing here sends traffic from the host.
"""
import os
import re
import subprocess
import time

import pytest
from kubernetes import client
from kubernetes.stream import stream

from conftest import ATTACKER_IMAGE, VICTIM_IMAGE

NODE = os.environ.get("CLUSTER_NODE_NAME", "sim-node")
K8S_MINOR = re.sub(r"^v(\d+\.\d+).*", r"v\1.", os.environ.get("K8S_VERSION", "v1.36.3"))
CLUSTER_RUN = os.environ.get("CLUSTER_RUN", "/run/defender-sim-cluster")
CLUSTER_NETNS_PATH = os.environ.get("CLUSTER_NETNS_PATH", "/run/netns/defender-sim")

# Shell snippets run in the attacker image: each tool is tried only if present.
RESOLVE = ('n="$1"; if command -v getent >/dev/null; then getent hosts "$n"; '
           'elif command -v python3 >/dev/null; then python3 -c "import socket,sys; print(socket.gethostbyname(sys.argv[1]))" "$n"; '
           'else nslookup "$n" 2>/dev/null | awk "/^Address/ && !/#53/ {print \\$2; f=1} END {exit !f}"; fi')
CONNECT = ('h="$1"; p="$2"; if command -v python3 >/dev/null; then '
           'python3 -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()" "$h" "$p"; '
           'elif command -v nc >/dev/null; then nc -z -w 3 "$h" "$p"; '
           'elif command -v curl >/dev/null; then curl -s -o /dev/null --connect-timeout 3 "telnet://$h:$p" </dev/null; test $? -ne 7 -a $? -ne 28; '
           'else timeout 3 bash -c "exec 3<>/dev/tcp/$h/$p"; fi')


def wait_pod(core, ns, name, timeout=120, phase="Running"):
    deadline = time.time() + timeout
    pod = None
    while time.time() < deadline:
        pod = core.read_namespaced_pod(name, ns)
        if pod.status.phase == phase and (phase != "Running" or all(c.ready for c in pod.status.container_statuses or [])):
            return pod
        for c in pod.status.container_statuses or []:
            w = c.state.waiting
            if w and w.reason in ("ErrImagePull", "ImagePullBackOff", "CreateContainerError", "InvalidImageName"):
                pytest.fail(f"pod {ns}/{name}: {w.reason}: {w.message}")
        time.sleep(0.5)
    pytest.fail(f"pod {ns}/{name} not {phase} in {timeout}s: {pod.status if pod else None}")


def run_pod(core, ns, name, image=ATTACKER_IMAGE, hostname=None, subdomain=None, labels=None):
    spec = client.V1PodSpec(
        containers=[client.V1Container(name="main", image=image, image_pull_policy="IfNotPresent",
                                       command=["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"])],
        hostname=hostname, subdomain=subdomain, termination_grace_period_seconds=0,
        automount_service_account_token=False)
    core.create_namespaced_pod(ns, client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels), spec=spec))
    return wait_pod(core, ns, name)


def sh(core, ns, pod, script, *args):
    """Run a shell script in the pod through the websocket exec stream; return (exit status, output)."""
    resp = stream(core.connect_get_namespaced_pod_exec, pod, ns, command=["sh", "-c", script, "sh", *args],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=60)
    code = resp.returncode  # read the status channel before read_all() empties the channels
    out = resp.read_all()
    resp.close()
    return code, out


# ---------------------------------------------------------------- the cluster itself

def test_node_ready(core):
    node = core.read_node(NODE)
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready.get("Ready") == "True", node.status.conditions
    assert any(a.address == os.environ.get("CLUSTER_NODE_IP", "10.200.0.2") for a in node.status.addresses)


def test_server_version(api):
    info = client.VersionApi(api).get_code()
    assert info.git_version.startswith(K8S_MINOR), info.git_version


def test_sensor_stand_in(api):
    """The Defender sensor stand-in is Ready when present (up deploys it unless CLUSTER_SENSOR=0)."""
    apps = client.AppsV1Api(api)
    try:
        ds = apps.read_namespaced_daemon_set("microsoft-defender-collector-ds", "kube-system")
    except client.ApiException as e:
        if e.status == 404:
            pytest.skip("sensor stand-in absent (cluster brought up with CLUSTER_SENSOR=0)")
        raise
    assert ds.status.desired_number_scheduled == 1
    assert ds.status.number_ready == 1


# ---------------------------------------------------------------- pods: DNS, API, exec, images

def test_pod_dns_api_and_mirror(core, namespace):
    """A pod of the attacker image (pulled through the ghcr.io mirror) resolves kubernetes.default and a headless
    service's pod name, and opens TCP to the API service IP."""
    core.create_namespaced_service(namespace, client.V1Service(
        metadata=client.V1ObjectMeta(name="mdc-simulation-victim"),
        spec=client.V1ServiceSpec(cluster_ip="None", selector={"app": "sim"},
                                  ports=[client.V1ServicePort(name="http", port=80)])))
    pod = run_pod(core, namespace, "sim", hostname="victim-0", subdomain="mdc-simulation-victim", labels={"app": "sim"})
    assert pod.status.container_statuses[0].image.endswith("attacksimulation/attacker:latest")

    code, out = sh(core, namespace, "sim", RESOLVE, "kubernetes.default")
    assert code == 0 and "10.96.0.1" in out, out
    for name in (f"mdc-simulation-victim.{namespace}.svc.cluster.local",
                 f"victim-0.mdc-simulation-victim.{namespace}.svc.cluster.local"):
        deadline = time.time() + 30  # the endpoint slice of a just-ready pod can take a moment to reach CoreDNS
        while True:
            code, out = sh(core, namespace, "sim", RESOLVE, name)
            if (code == 0 and pod.status.pod_ip in out) or time.time() > deadline:
                break
            time.sleep(1)
        assert code == 0 and pod.status.pod_ip in out, (name, out)

    code, out = sh(core, namespace, "sim", CONNECT, "10.96.0.1", "443")
    assert code == 0, out


def test_exec_stream_output_and_status(core, namespace):
    run_pod(core, namespace, "exec", image=VICTIM_IMAGE)
    code, out = sh(core, namespace, "exec", 'echo "hello from $(hostname)"; echo oops >&2; exit 3')
    assert code == 3
    assert "hello from exec" in out and "oops" in out
    code, out = sh(core, namespace, "exec", "true")
    assert code == 0


def test_missing_image_fails_fast(core, namespace):
    name = "ghcr.io/microsoft/defender-for-cloud/attacksimulation/does-not-exist:latest"
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="missing"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image=name)], termination_grace_period_seconds=0)))
    deadline, reason = time.time() + 60, None
    while time.time() < deadline and reason not in ("ErrImagePull", "ImagePullBackOff"):
        st = core.read_namespaced_pod("missing", namespace).status.container_statuses or []
        reason = st[0].state.waiting.reason if st and st[0].state.waiting else None
        time.sleep(0.5)
    assert reason in ("ErrImagePull", "ImagePullBackOff")


# ---------------------------------------------------------------- sealing (probes from inside a pod only)

def in_host_netns(*cmd):
    """Run a read-only command (ip addr, ss) in the caller's network namespace, kept open by `run` as a descriptor."""
    fd = int(os.environ.get("CLUSTER_HOST_NETNS_FD", "9"))
    return subprocess.run(["nsenter", f"--net=/proc/self/fd/{fd}", *cmd], capture_output=True, text=True, check=True,
                          pass_fds=(fd,)).stdout


def _host_addresses():
    """IPv4 addresses of the host's own network namespace (read from the host ns, no traffic)."""
    out = in_host_netns("ip", "-4", "-o", "addr", "show")
    return sorted({m for m in re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out) if not m.startswith("127.")})


def test_sealed_no_route_out(core, namespace):
    run_pod(core, namespace, "probe")
    targets = [("169.254.169.254", "80"), ("1.1.1.1", "443")] + [(a, "22") for a in _host_addresses()]
    assert len(targets) > 2, "no host address found to probe"
    for host, port in targets:
        t0 = time.time()
        code, out = sh(core, namespace, "probe", CONNECT, host, port)
        assert code != 0, f"{host}:{port} reachable from a pod: {out}"
        assert time.time() - t0 < 20


def test_sealed_no_outside_dns(core, namespace):
    run_pod(core, namespace, "dns")
    for name in ("example.com", "ghcr.io", "login.microsoftonline.com"):
        code, out = sh(core, namespace, "dns", RESOLVE, name)
        assert code != 0, f"{name} resolved: {out}"


def _ns_inode(path):
    return os.stat(path).st_ino


def _descendants(pids):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children = {}
    for line in out.splitlines():
        pid, ppid = map(int, line.split())
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), list(pids)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(children.get(p, []))
    return seen


def test_nothing_of_the_cluster_listens_on_the_host():
    pids = set()
    for f in os.listdir(CLUSTER_RUN):
        if f.endswith(".pid"):
            with open(os.path.join(CLUSTER_RUN, f)) as fh:
                pids.add(int(fh.read().strip()))
    assert pids, f"no pid files in {CLUSTER_RUN}"
    ours = _descendants(pids)
    netns = _ns_inode(CLUSTER_NETNS_PATH)
    for pid in pids:  # every daemon runs in the sealed namespace
        assert _ns_inode(f"/proc/{pid}/ns/net") == netns, f"pid {pid} outside {CLUSTER_NETNS_PATH}"
    out = in_host_netns("ss", "-Hltunp")
    listeners = [(line, {int(p) for p in re.findall(r"pid=(\d+)", line)}) for line in out.splitlines()]
    bad = [line for line, lp in listeners if lp & ours]
    assert not bad, "cluster processes listen in the host namespace:\n" + "\n".join(bad)
    for port in (":6443 ", ":2379 ", ":10250 ", ":5000 "):
        assert not [line for line, _ in listeners if port in line + " " and "containerd" in line], port


# ---------------------------------------------------------------- the `run` wrapper itself

def test_run_environment():
    """`run` keeps the caller's PATH first, appends $CLUSTER_BIN, and gives this process tree the cluster DNS."""
    path = os.environ["PATH"].split(os.pathsep)
    cluster_bin = os.environ.get("CLUSTER_BIN")
    if cluster_bin:
        assert path[-1] == cluster_bin
    with open("/etc/resolv.conf") as fh:
        assert re.search(r"^nameserver 10\.96\.0\.10$", fh.read(), re.M)
    import socket
    assert socket.gethostbyname("kubernetes.default.svc.cluster.local") == "10.96.0.1"
    assert socket.gethostbyname("kube-dns.kube-system") == os.environ.get("CLUSTER_DNS_IP", "10.96.0.10")
    with pytest.raises(OSError):
        socket.gethostbyname("example.com")
