# Cloak's Kata agent policy: the rules.
#
# The Kata agent inside the TEE evaluates data.agent_policy.<Request> for every
# request the host sends through the agent API (protos/agent.proto), with the
# request as `input`. Everything the host controls is in that input; the
# workload's owner controls only this file and the `pod` object that
# `cloak generate` appends to it (and whose digest the hardware measures as
# part of the init-data). So: every request is denied unless a rule below
# allows it, and each allowing rule compares the host's input with `pod`.
#
# A rule may return {"allowed": true, "ops": [...]}: the ops are a JSON Patch
# the agent applies to data.pstate, the policy's memory between requests
# (which containers exist, the pod's name, namespace and network namespace).
#
# Written in the Rego subset that both the agent's regorus (v0 syntax by
# default) and Rego v1 engines parse, using only the core builtins plus
# regex and base64url.

package agent_policy

import future.keywords.every
import future.keywords.if
import future.keywords.in

# ---------------------------------------------------------------------------
# Requests allowed or denied outright.

# Denied: the host could change what this file decides, or turn it off.
default SetPolicyRequest := false
default AllowRequestsFailingPolicy := false

# Denied: would change a running container (resources, freeze) or the guest
# (swap, memory, clock, entropy, firewall, tracing) behind the workload's back,
# or read the guest's state (metrics, diagnostics, interfaces, routes, volumes).
default AddSwapPathRequest := false
default AddSwapRequest := false
default GetDiagnosticDataRequest := false
default GetIPTablesRequest := false
default GetMetricsRequest := false
default ListInterfacesRequest := false
default ListRoutesRequest := false
default MemAgentCompactConfig := false
default MemAgentMemcgConfig := false
default MemHotplugByProbeRequest := false
default PauseContainerRequest := false
default ReseedRandomDevRequest := false
default ResizeVolumeRequest := false
default ResumeContainerRequest := false
default SetGuestDateTimeRequest := false
default SetIPTablesRequest := false
default UpdateContainerRequest := false
default UpdateEphemeralMountsRequest := false
default VolumeStatsRequest := false

# Allowed: lifecycle and housekeeping the host must be able to do and that
# neither reveal nor change what runs (the host can always stop the pod).
default DestroySandboxRequest := true
default GetOOMEventRequest := true
default GuestDetailsRequest := true
default OnlineCPUMemRequest := true
default RemoveStaleVirtiofsShareMountsRequest := true
default SignalProcessRequest := true
default StartContainerRequest := true
default StatsContainerRequest := true
default TtyWinResizeRequest := true
default WaitProcessRequest := true

# Decided by the rules below; denied when no rule matches.
default AddARPNeighborsRequest := false
default CloseStdinRequest := false
default CopyFileRequest := false
default CreateContainerRequest := false
default CreateSandboxRequest := false
default ExecProcessRequest := false
default ReadStreamRequest := false
default RemoveContainerRequest := false
default UpdateInterfaceRequest := false
default UpdateRoutesRequest := false
default WriteStreamRequest := false

# ---------------------------------------------------------------------------
# Paths and patterns of the Kata runtime (fixed for every pod).

# Where the runtime shares host files (hosts, resolv.conf, ConfigMaps, ...) into the guest.
shared_dir := "^/run/kata-containers/shared/containers(/passthrough)?/(watchable/)?"

# A bundle (container) id as the runtime spells it in Root.Path.
bundle_id_pattern := "([0-9a-f]{64}|[a-z0-9][a-z0-9.-]*)"

# Block devices the runtime attaches for encrypted emptyDirs are mounted here.
block_storage_dir := "/run/kata-containers/sandbox/storage/"

# Memory-backed emptyDirs live here.
memory_storage_dir := "/run/kata-containers/sandbox/ephemeral/"

# Environment variables the kubelet and runtime add to every container,
# matched by pattern: the hostname and the service-link variables of the
# pod's namespace (KUBERNETES_SERVICE_HOST, ...). They never override a
# variable the pod or image declares (see env_allowed).
ipv4 := "(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])"

port := "[0-9]{1,5}"

svc := "[A-Z](?:[A-Z0-9_]{0,61}[A-Z0-9])?"

runtime_env := [
	"^HOSTNAME=[a-zA-Z0-9_.-]+$",
	concat("", ["^", svc, "_SERVICE_HOST=", ipv4, "$"]),
	concat("", ["^", svc, "_SERVICE_PORT=", port, "$"]),
	concat("", ["^", svc, "_SERVICE_PORT_[a-zA-Z0-9_.-]+=", port, "$"]),
	concat("", ["^", svc, "_PORT=(tcp|udp|sctp)://", ipv4, ":", port, "$"]),
	concat("", ["^", svc, "_PORT_", port, "_(TCP|UDP|SCTP)=(tcp|udp|sctp)://", ipv4, ":", port, "$"]),
	concat("", ["^", svc, "_PORT_", port, "_(TCP|UDP|SCTP)_PROTO=(tcp|udp|sctp)$"]),
	concat("", ["^", svc, "_PORT_", port, "_(TCP|UDP|SCTP)_PORT=", port, "$"]),
	concat("", ["^", svc, "_PORT_", port, "_(TCP|UDP|SCTP)_ADDR=", ipv4, "$"]),
]

# Mounts the OCI runtime spec gives every container.
standard_mounts := [
	{"destination": "/proc", "source": "proc", "type_": "proc", "options": ["nosuid", "noexec", "nodev"]},
	{"destination": "/dev", "source": "tmpfs", "type_": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
	{"destination": "/dev/pts", "source": "devpts", "type_": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
	{"destination": "/dev/mqueue", "source": "mqueue", "type_": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
	{"destination": "/dev/shm", "source": "/run/kata-containers/sandbox/shm", "type_": "bind", "options": ["rbind"]},
]

cgroup_mount_options := ["nosuid", "noexec", "nodev", "relatime"]

# Extra cgroup2 mount options the guest kernel may add.
cgroup_extra_options := {"nsdelegate", "memory_recursiveprot"}

# The only storage CreateSandbox may ask for: the pod's /dev/shm.
sandbox_storages := [{
	"driver": "ephemeral", "driver_options": [], "source": "shm", "fstype": "tmpfs",
	"options": ["noexec", "nosuid", "nodev", "mode=1777", "size=67108864"],
	"mount_point": "/run/kata-containers/sandbox/shm", "fs_group": null, "shared": false,
}]

# ---------------------------------------------------------------------------
# CreateSandboxRequest: no guest hooks (host code run in the TEE), no kernel
# modules, no host-chosen PID namespace sharing, only the /dev/shm storage.

CreateSandboxRequest if {
	input.guest_hook_path == ""
	count(input.kernel_modules) == 0
	input.sandbox_pidns == false
	every s in input.storages {
		s in sandbox_storages
	}
}

# ---------------------------------------------------------------------------
# CreateContainerRequest: only the pod's containers (pod.containers[0] is the
# sandbox/pause container), each exactly as the pod and its image declare it.

CreateContainerRequest := {"allowed": true, "ops": ops} if {
	input_is_plain
	matches := [i | some i, c in pod.containers; container_allowed(c)]
	count(matches) > 0
	ops := state_ops(matches[0])
}

# What no container of any pod may ask for: OCI hooks (host programs run in
# the guest), host user namespaces, seccomp/SELinux/RDT/device cgroups set by
# the host, a user name to resolve.
input_is_plain if {
	is_null(input.string_user)
	count(input.shared_mounts) == 0
	o := input.OCI
	is_null(o.Hooks)
	is_null(o.Solaris)
	is_null(o.Windows)
	o.Process.SelinuxLabel == ""
	o.Process.User.Username == ""
	l := o.Linux
	count(l.UIDMappings) == 0
	count(l.GIDMappings) == 0
	l.MountLabel == ""
	l.RootfsPropagation == ""
	is_null(l.Seccomp)
	is_null(l.IntelRdt)
	count(l.Resources.Devices) == 0
	is_null(l.Resources.BlockIO)
	is_null(l.Resources.Network)
	is_null(l.Resources.Pids)
}

annotations := input.OCI.Annotations

# The container's bundle id, taken from its root path.
bundle_id := id if {
	m := regex.find_all_string_submatch_n(concat("", ["^/run/kata-containers/", bundle_id_pattern, "/rootfs$"]), input.OCI.Root.Path, 1)
	id := m[0][1]
}

root_path := concat("", ["/run/kata-containers/", bundle_id, "/rootfs"])

container_allowed(c) if {
	annotations["io.kubernetes.cri.container-type"] == c.type
	every k, _ in annotations {
		annotation_known(c, k)
	}
	pod_identity_allowed
	regex.match("^[a-z0-9]{64}$", annotations["io.kubernetes.cri.sandbox-id"])
	annotations["io.katacontainers.pkg.oci.bundle_path"] == concat("", ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/", bundle_id])
	kind_allowed(c)
	input.sandbox_pidns == c.shared_pidns
	input.OCI.Version == "1.1.0"
	input.OCI.Root.Readonly == c.readonly_root
	process_allowed(c, input.OCI.Process)
	mounts_allowed(c)
	storages_allowed(c)
	devices_allowed(c)
	linux_allowed(c, input.OCI.Linux)
}

# Annotations the runtime sets; anything else could steer the agent.
annotation_known(_, k) if startswith(k, "io.kubernetes.cri.")

annotation_known(_, k) if k in {"io.katacontainers.pkg.oci.bundle_path", "io.katacontainers.pkg.oci.container_type"}

annotation_known(c, "nerdctl/network-namespace") if c.type == "sandbox"

# The pod's name and namespace: as declared, and the same for every container.
pod_identity_allowed if {
	name := annotations["io.kubernetes.cri.sandbox-name"]
	regex.match(pod.sandbox_name, name)
	state_agrees("sandbox_name", name)
	ns := annotations["io.kubernetes.cri.sandbox-namespace"]
	pod.namespace in {"", ns}
	state_agrees("namespace", ns)
}

state_agrees(key, _) if not data.pstate[key]

state_agrees(key, value) if data.pstate[key] == value

kind_allowed(c) if {
	c.type == "sandbox"
	annotations["io.katacontainers.pkg.oci.container_type"] == "pod_sandbox"
	not annotations["io.kubernetes.cri.container-name"]
	log_dir_allowed
	netns_annotation_allowed
}

kind_allowed(c) if {
	c.type == "container"
	annotations["io.katacontainers.pkg.oci.container_type"] == "pod_container"
	annotations["io.kubernetes.cri.container-name"] == c.name
	not annotations["io.kubernetes.cri.sandbox-log-directory"]
	image_name_allowed(c)
}

log_dir_allowed if not annotations["io.kubernetes.cri.sandbox-log-directory"]

log_dir_allowed if {
	pattern := concat("", [
		"^/var/log/pods/", annotations["io.kubernetes.cri.sandbox-namespace"], "_", annotations["io.kubernetes.cri.sandbox-name"],
		"_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
	])
	regex.match(pattern, annotations["io.kubernetes.cri.sandbox-log-directory"])
}

netns_annotation_allowed if not annotations["nerdctl/network-namespace"]

netns_annotation_allowed if regex.match("^/var/run/netns/cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", annotations["nerdctl/network-namespace"])

# The CRI image name, when given, names the pinned image (upstream Kata does not check it).
image_name_allowed(c) if not annotations["io.kubernetes.cri.image-name"]

image_name_allowed(c) if annotations["io.kubernetes.cri.image-name"] in c.image.names

# --- the process

process_allowed(c, p) if {
	p.Args == c.args
	p.Cwd == c.cwd
	p.Terminal == c.terminal
	p.NoNewPrivileges == c.no_new_privileges
	user_allowed(c, p.User)
	env_allowed(c, p.Env)
	capabilities_allowed(c.capabilities, p.Capabilities)
}

user_allowed(c, u) if {
	u.UID == c.uid
	u.GID == c.gid
	{g | some g in u.AdditionalGids} == {g | some g in c.groups}
}

# Every variable is one the pod or image declares, or one the runtime adds
# under a name the pod and image do not use; the pod's own are all present.
env_allowed(c, env) if {
	every e in env {
		env_var_allowed(c, e)
	}
	every e in c.env_required {
		e in env
	}
}

env_var_allowed(c, e) if e in c.env

env_var_allowed(c, e) if {
	some pattern in c.env_patterns
	regex.match(pattern, e)
}

env_var_allowed(c, e) if {
	not split(e, "=")[0] in c.env_names
	some pattern in runtime_env
	regex.match(pattern, e)
}

capabilities_allowed(want, got) if {
	every set in ["Bounding", "Effective", "Permitted", "Inheritable", "Ambient"] {
		{x | some x in got[set]} == {x | some x in want[set]}
	}
}

# --- mounts: each the pod declares or the runtime always adds, each destination once

mounts_allowed(c) if {
	mounts := input.OCI.Mounts
	count({m.destination | some m in mounts}) == count(mounts)
	every m in mounts {
		mount_allowed(c, m)
	}
}

mount_allowed(_, m) if m in standard_mounts

mount_allowed(c, m) if {
	m.destination == "/sys"
	m.source == "sysfs"
	m.type_ == "sysfs"
	m.options == ["nosuid", "noexec", "nodev", c.sysfs]
}

mount_allowed(_, m) if {
	m.destination == "/sys/fs/cgroup"
	m.source == "cgroup"
	m.type_ == "cgroup"
	array.slice(m.options, 0, 4) == cgroup_mount_options
	array.slice(m.options, 4, 5) in [["ro"], ["rw"]]
	every o in array.slice(m.options, 5, count(m.options)) {
		o in cgroup_extra_options
	}
}

mount_allowed(c, m) if {
	some want in c.mounts
	m.destination == want.destination
	m.type_ == "bind"
	m.options in want.options
	mount_source_allowed(want, m.source)
}

# A file or directory the runtime shares from the host (hosts, ConfigMap, ...).
mount_source_allowed(want, source) if {
	want.shared != ""
	regex.match(concat("", [shared_dir, bundle_id, "-[a-z0-9]{16}-", want.shared, "$"]), source)
}

# An encrypted block device of an emptyDir, attached in this request.
mount_source_allowed(want, source) if {
	want.block
	some s in input.storages
	s.driver == "blk"
	s.mount_point == source
}

# A memory-backed emptyDir.
mount_source_allowed(want, source) if {
	want.memory != ""
	source == concat("", [memory_storage_dir, want.memory])
}

mount_source_allowed(want, source) if {
	want.exact != ""
	source == want.exact
}

# --- storages: the image the pod pins, pulled in the guest; its volumes

storages_allowed(c) if {
	pulls := [s | some s in input.storages; s.driver == "image_guest_pull"]
	count(pulls) in c.image_pulls
	blocks := [s | some s in input.storages; s.driver == "blk"]
	count(blocks) <= c.block_volumes
	every s in input.storages {
		storage_allowed(c, s)
	}
}

storage_allowed(c, s) if {
	s.driver == "image_guest_pull"
	s.fstype == "overlay"
	s.options == []
	is_null(s.fs_group)
	s.shared == false
	s.mount_point == root_path
	pulled_image_allowed(c, s)
}

storage_allowed(c, s) if {
	s.driver == "blk"
	regex.match("^[0-9a-f]{2}(/[0-9a-f]{2})?$", s.source)
	s.driver_options == ["encryption_key=ephemeral", "create_filesystem"]
	s.fstype == "ext4"
	s.options == []
	s.shared == true
	s.mount_point == concat("", [block_storage_dir, base64url.encode(s.source)])
	s.fs_group == c.fs_group
}

storage_allowed(c, s) if {
	s.driver == "ephemeral"
	s.source == "tmpfs"
	s.fstype == "tmpfs"
	every o in s.options {
		regex.match("^size=[0-9]+$", o)
	}
	s.shared == false
	s.fs_group == c.fs_group
	some m in c.mounts
	m.memory != ""
	s.mount_point == concat("", [memory_storage_dir, m.memory])
}

# The agent takes the sandbox's image from its own /pause_bundle, whatever the source says.
pulled_image_allowed(c, _) if c.type == "sandbox"

# The image pulled is the one the pod pins, by digest, in the source and in the
# image-name the runtime passes along (upstream Kata leaves both unchecked).
pulled_image_allowed(c, s) if {
	c.type == "container"
	s.source in c.image.names
	count(s.driver_options) == 1
	opt := s.driver_options[0]
	startswith(opt, "image_guest_pull=")
	count(split(opt, "\"io.kubernetes.cri.image-name\"")) == 2
	some name in c.image.names
	contains(opt, concat("", ["\"io.kubernetes.cri.image-name\":\"", name, "\""]))
}

# --- devices: none (no device passthrough yet: a container that asks for GPUs is never allowed)

devices_allowed(c) if {
	c.gpus == 0
	count(input.devices) == 0
	count(input.OCI.Linux.Devices) == 0
}

# --- Linux settings

linux_allowed(c, l) if {
	[n | some n in l.Namespaces; not n.Type in {"network", "cgroup"}] == c.namespaces
	every p in c.masked_paths {
		p in l.MaskedPaths
	}
	every p in c.readonly_paths {
		p in array.concat(l.ReadonlyPaths, l.MaskedPaths)
	}
	every k, v in l.Sysctl {
		c.sysctls[k] == v
	}
	count(networks) <= 1
	state_agrees("network_namespace", network_namespace)
}

networks := [n.Path | some n in input.OCI.Linux.Namespaces; n.Type == "network"]

network_namespace := networks[0] if count(networks) == 1

network_namespace := "" if count(networks) == 0

# --- the policy state a created container leaves behind

state_ops(index) := array.concat([
	{"op": "add", "path": "/pstate/sandbox_name", "value": annotations["io.kubernetes.cri.sandbox-name"]},
	{"op": "add", "path": "/pstate/namespace", "value": annotations["io.kubernetes.cri.sandbox-namespace"]},
	{"op": "add", "path": "/pstate/network_namespace", "value": network_namespace},
], container_ops(input.container_id, index))

container_ops(id, index) := [{"op": "add", "path": concat("/", ["", "pstate", "containers", json_pointer(id)]), "value": index}] if {
	data.pstate.containers
} else := [{"op": "add", "path": "/pstate/containers", "value": {id: index}}]

json_pointer(s) := replace(replace(s, "~", "~0"), "/", "~1")

# The container a later request names, as the state recorded it.
created(id) := pod.containers[data.pstate.containers[id]]

RemoveContainerRequest := {"allowed": true, "ops": [{"op": "remove", "path": concat("/", ["", "pstate", "containers", json_pointer(input.container_id)])}]} if {
	created(input.container_id)
}

RemoveContainerRequest := true if not created(input.container_id)

# ---------------------------------------------------------------------------
# ExecProcessRequest (kubectl exec, exec probes): only the pod's exec probe
# and lifecycle-hook commands, and the commands the workload opted in to,
# in the container they belong to, as that container's user, with its
# environment and no capabilities.

ExecProcessRequest if {
	exec_input_plain
	c := created(input.container_id)
	input.process.Args in c.exec
	input.process.Terminal == false
	exec_process_allowed(c, input.process)
}

ExecProcessRequest if {
	exec_input_plain
	c := created(input.container_id)
	input.process.Args in c.exec_opt_in
	exec_process_allowed(c, input.process)
}

exec_input_plain if {
	is_null(input.string_user)
	input.process.SelinuxLabel == ""
	input.process.ApparmorProfile == ""
}

exec_process_allowed(c, p) if {
	is_null(p.Capabilities)
	p.Cwd == c.cwd
	p.NoNewPrivileges == c.no_new_privileges
	p.User.Username == ""
	user_allowed(c, p.User)
	every e in p.Env {
		env_var_allowed(c, e)
	}
}

# ---------------------------------------------------------------------------
# Streams: container output (logs, exec output) only when the workload opted
# in; stdin only for containers that declare stdin: true.

ReadStreamRequest if pod.logs

WriteStreamRequest if created(input.container_id).stdin

CloseStdinRequest if created(input.container_id).stdin

# ---------------------------------------------------------------------------
# CopyFileRequest: the runtime copies host files (hosts, resolv.conf,
# ConfigMaps, Secrets, tokens) into the shared directory, and nowhere else:
# not into /etc, a container's rootfs or out through "..". Their content is
# host-controlled; the workload must not trust it.

copy_prefix := concat("", [shared_dir, "[a-z0-9]{64}-[a-z0-9]{16}-"])

CopyFileRequest if {
	input.file_type in {"Regular", "Directory"}
	not has_parent_step(input.path)
	regex.match(copy_prefix, input.path)
}

CopyFileRequest if {
	input.file_type == "Symlink"
	not has_parent_step(input.path)
	regex.match(concat("", [copy_prefix, ".*/.+"]), input.path)
	not has_parent_step(input.symlink_target)
	not startswith(input.symlink_target, "/")
}

has_parent_step(path) if regex.match("(^|/)\\.\\.($|/)", path)

# ---------------------------------------------------------------------------
# Network: the pod's interfaces and routes, never the loopback device or
# addresses, no interface flags but NOARP, no null hardware address.

UpdateInterfaceRequest if {
	i := input.interface
	bits.and(i.raw_flags, bits.negate(128)) == 0
	i.name != "lo"
	i.hwAddr != "00:00:00:00:00:00"
}

loopback_addresses := ["^(?:0{0,4}:){0,7}0{0,3}1$", "^127\\.(?:[0-9]{1,3}\\.){2}[0-9]{1,3}$"]

UpdateRoutesRequest if {
	every r in input.routes.Routes {
		r.device != "lo"
		not loopback(r.source)
	}
}

loopback(address) if {
	some pattern in loopback_addresses
	regex.match(pattern, address)
}

AddARPNeighborsRequest if {
	every n in input.neighbors.ARPNeighbors {
		n.device != "lo"
		n.toIPAddress.mask == ""
		not loopback(n.toIPAddress.address)
		n.state in {2, 128}
		bits.and(n.flags, bits.negate(136)) == 0
	}
}
