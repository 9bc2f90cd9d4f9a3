namespace InfraRelocation.Testing.Proxmox;

/// <summary>The type of one API parameter, as the PVE JSON schema names it.</summary>
public enum ParamType { String, Integer, Number, Boolean, Array }

/// <summary>
/// One parameter of an endpoint. <see cref="Name"/> ends in <c>[n]</c> for indexed keys (<c>net[n]</c> matches
/// <c>net0</c>, <c>net1</c>, ...). <see cref="Format"/> is the named string format (<c>dns-name</c>, <c>pve-node</c>, ...).
/// </summary>
public sealed record ParamRule(string Name, ParamType Type, bool Optional = true, long? Minimum = null, long? Maximum = null,
    int? MaxLength = null, IReadOnlyList<string>? Enum = null, string? Pattern = null, string? Format = null);

/// <summary>
/// A <c>permissions.check</c> expression as PVE::RPCEnvironment::check_api2_permissions evaluates it
/// (pve-access-control, src/PVE/RPCEnvironment.pm): <c>perm</c> (all privileges, or any with <see cref="Any"/>;
/// skipped when <see cref="RequireParam"/> is absent), <c>and</c>, <c>or</c>.
/// </summary>
public abstract record PermissionCheck
{
    public sealed record Perm(string Path, IReadOnlyList<string> Privileges, bool Any = false, string? RequireParam = null) : PermissionCheck;
    public sealed record And(IReadOnlyList<PermissionCheck> Checks) : PermissionCheck;
    public sealed record Or(IReadOnlyList<PermissionCheck> Checks) : PermissionCheck;
}

/// <summary>One endpoint of the table: its parameters, whether a token may call it, and its privilege check.</summary>
public sealed record EndpointRule(string Method, string Path, IReadOnlyList<ParamRule> Parameters, bool AllowToken = true, PermissionCheck? Check = null)
{
    public string Key => Method + " " + Path;
}

/// <summary>
/// The emulator's own rule table for every endpoint it serves, written from the PVE 9.1 API documentation
/// (pve-docs api-viewer; the handlers' <c>__PACKAGE__->register_method</c> blocks in qemu-server
/// src/PVE/API2/Qemu.pm, pve-manager PVE/API2/Nodes.pm, Cluster.pm, Tasks.pm, pve-storage PVE/API2/Storage/*.pm,
/// pve-access-control src/PVE/API2/AccessControl.pm). It holds facts (names, types, limits, privileges), no schema
/// text. <c>ApiRulesConformanceTests</c> compares it with the official schema when that is beside the checkout.
/// </summary>
public static class ApiRules
{
    private const long VmIdMin = 100, VmIdMax = 999_999_999;

    private static ParamRule Str(string name, bool optional = true, string? format = null, int? maxLength = null, string? pattern = null) =>
        new(name, ParamType.String, optional, MaxLength: maxLength, Pattern: pattern, Format: format);
    private static ParamRule Enum(string name, params string[] values) => new(name, ParamType.String, Enum: values);
    private static ParamRule Int(string name, long? min = null, long? max = null, bool optional = true) => new(name, ParamType.Integer, optional, min, max);
    private static ParamRule Num(string name, long? min = null, long? max = null) => new(name, ParamType.Number, Minimum: min, Maximum: max);
    private static ParamRule Bool(string name) => new(name, ParamType.Boolean);
    private static ParamRule VmIdParam(string name = "vmid", bool optional = false) => new(name, ParamType.Integer, optional, VmIdMin, VmIdMax, Format: "pve-vmid");
    private static readonly ParamRule Node = Str("node", optional: false, format: "pve-node");
    private static readonly ParamRule VmId = VmIdParam();
    private static readonly ParamRule Upid = Str("upid", optional: false);

    private static PermissionCheck Perm(string path, params string[] privileges) => new PermissionCheck.Perm(path, privileges);
    private static PermissionCheck AnyOf(string path, params string[] privileges) => new PermissionCheck.Perm(path, privileges, Any: true);

    /// <summary>qemu-server's config privileges: any one of them lets the call in; the handler checks per key.</summary>
    private static readonly string[] ConfigPrivileges =
        ["VM.Config.Disk", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options", "VM.Config.Cloudinit"];

    private static readonly string[] DiskSlots =
    [
        .. Enumerable.Range(0, 4).Select(i => "ide" + i), .. Enumerable.Range(0, 31).Select(i => "scsi" + i),
        .. Enumerable.Range(0, 16).Select(i => "virtio" + i), .. Enumerable.Range(0, 6).Select(i => "sata" + i), "efidisk0", "tpmstate0",
    ];

    /// <summary>The VM config keys PUT/POST config accept (qemu-server PVE::QemuServer $confdesc plus the update options).</summary>
    private static IEnumerable<ParamRule> ConfigKeys() =>
    [
        Node, VmId,
        Bool("acpi"), Str("affinity", format: "pve-cpuset"), Str("agent"), Bool("allow-ksm"), Str("amd-sev", format: "pve-qemu-sev-fmt"),
        Enum("arch", "x86_64", "aarch64"), Str("args"), Str("audio0"), Bool("autostart"), Int("balloon", 0),
        Enum("bios", "seabios", "ovmf"), Str("boot", format: "pve-qm-boot"),
        Str("bootdisk", format: "pve-qm-bootdisk", pattern: @"(ide|sata|scsi|virtio)\d+"), Str("cdrom", format: "pve-qm-ide"),
        Str("cicustom", format: "pve-qm-cicustom"), Str("cipassword"), Enum("citype", "configdrive2", "nocloud", "opennebula"), Bool("ciupgrade"),
        Str("ciuser"), Int("cores", 1), Str("cpu", format: "pve-vm-cpu-conf"), Num("cpulimit", 0, 128), Int("cpuunits", 1, 262144),
        Str("delete", format: "pve-configid-list"), Str("description", maxLength: 8192), Str("digest", maxLength: 40), Str("efidisk0"),
        Bool("force"), Bool("freeze"), Str("hookscript", format: "pve-volume-id"), Str("hostpci[n]", format: "pve-qm-hostpci"),
        Str("hotplug", format: "pve-hotplug-features"), Enum("hugepages", "any", "2", "1024"), Str("ide[n]"),
        Str("intel-tdx", format: "pve-qemu-tdx-fmt"), Str("ipconfig[n]", format: "pve-qm-ipconfig"), Str("ivshmem"), Bool("keephugepages"),
        Enum("keyboard", "de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu", "is", "it", "ja", "lt", "mk", "nl",
            "no", "pl", "pt", "pt-br", "sv", "sl", "tr"),
        Bool("kvm"), Bool("localtime"),
        Enum("lock", "backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending", "suspended"),
        Str("machine"), Str("memory"), Num("migrate_downtime", 0), Int("migrate_speed", 0), Str("name", format: "dns-name"),
        Str("nameserver", format: "address-list"), Str("net[n]"), Bool("numa"), Str("numa[n]"), Bool("onboot"),
        Enum("ostype", "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris"),
        Str("parallel[n]", pattern: @"/dev/parport\d+|/dev/usb/lp\d+"), Bool("protection"), Bool("reboot"),
        Str("revert", format: "pve-configid-list"), Str("rng0", format: "pve-qm-rng"), Str("sata[n]"), Str("scsi[n]"),
        Enum("scsihw", "lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"), Str("searchdomain"),
        Str("serial[n]", pattern: "(/dev/.+|socket)"), Int("shares", 0, 50000), Bool("skiplock"),
        Str("smbios1", format: "pve-qm-smbios1", maxLength: 512), Int("smp", 1), Int("sockets", 1), Str("spice_enhancements"),
        Str("sshkeys", format: "urlencoded"), Str("startdate", pattern: @"(now|\d{4}-\d{1,2}-\d{1,2}(T\d{1,2}:\d{1,2}:\d{1,2})?)"),
        Str("startup", format: "pve-startup-order"), Bool("tablet"), Str("tags", format: "pve-tag-list"), Bool("tdf"), Bool("template"),
        Str("tpmstate0"), Str("unused[n]"), Str("usb[n]"), Int("vcpus", 1), Str("vga"), Str("virtio[n]"), Str("virtiofs[n]"),
        Str("vmgenid", pattern: "(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])"),
        Str("vmstatestorage", format: "pve-storage-id"), Str("watchdog", format: "pve-qm-watchdog"),
    ];

    /// <summary>Every endpoint the emulator serves.</summary>
    public static IReadOnlyList<EndpointRule> Endpoints { get; } =
    [
        new("GET", "/version", []),
        new("GET", "/nodes", []),
        new("GET", "/cluster/status", [], Check: Perm("/", "Sys.Audit")),
        new("GET", "/cluster/resources", [Enum("type", "vm", "storage", "node", "sdn")]),
        new("GET", "/cluster/nextid", [VmIdParam(optional: true)]),
        new("GET", "/cluster/tasks", []),
        new("GET", "/pools", [Str("poolid", format: "pve-poolid"), Enum("type", "qemu", "lxc", "storage")]),
        new("GET", "/storage", [Enum("type", "btrfs", "cephfs", "cifs", "dir", "esxi", "iscsi", "iscsidirect", "lvm", "lvmthin", "nfs", "pbs", "rbd", "zfs", "zfspool")]),
        new("GET", "/nodes/{node}/storage", [Node, Str("content", format: "pve-storage-content-list"), Bool("enabled"), Bool("format"),
            Str("storage", format: "pve-storage-id"), Str("target", format: "pve-node")]),
        new("GET", "/nodes/{node}/status", [Node], Check: Perm("/nodes/{node}", "Sys.Audit")),
        new("GET", "/nodes/{node}/version", [Node]),
        new("GET", "/nodes/{node}/dns", [Node], Check: Perm("/nodes/{node}", "Sys.Audit")),
        new("PUT", "/nodes/{node}/dns", [Node, Str("search", optional: false), Str("dns1", format: "ip"), Str("dns2", format: "ip"), Str("dns3", format: "ip")],
            Check: Perm("/nodes/{node}", "Sys.Modify")),
        new("GET", "/nodes/{node}/hosts", [Node], Check: Perm("/", "Sys.Audit")),
        new("POST", "/nodes/{node}/hosts", [Node, Str("data", optional: false), Str("digest", maxLength: 64)], Check: Perm("/nodes/{node}", "Sys.Modify")),
        new("GET", "/nodes/{node}/qemu", [Node, Bool("full")]),
        new("DELETE", "/nodes/{node}/qemu/{vmid}", [Node, VmId, Bool("destroy-unreferenced-disks"), Bool("purge"), Bool("skiplock")],
            Check: Perm("/vms/{vmid}", "VM.Allocate")),
        new("GET", "/nodes/{node}/qemu/{vmid}/status/current", [Node, VmId], Check: Perm("/vms/{vmid}", "VM.Audit")),
        new("POST", "/nodes/{node}/qemu/{vmid}/clone",
            [Node, VmId, VmIdParam("newid"), Int("bwlimit", 0), Str("description"), Enum("format", "raw", "qcow2", "vmdk"), Bool("full"),
             Str("name", format: "dns-name"), Str("pool", format: "pve-poolid"), Str("snapname", format: "pve-configid", maxLength: 40),
             Str("storage", format: "pve-storage-id"), Str("target", format: "pve-node")],
            Check: new PermissionCheck.And([Perm("/vms/{vmid}", "VM.Clone"), new PermissionCheck.Or([Perm("/vms/{newid}", "VM.Allocate"),
                new PermissionCheck.Perm("/pool/{pool}", ["VM.Allocate"], RequireParam: "pool")])])),
        new("POST", "/nodes/{node}/qemu/{vmid}/migrate",
            [Node, VmId, Str("target", optional: false, format: "pve-node"), Int("bwlimit", 0), Bool("force"), Str("migration_network", format: "CIDR"),
             Enum("migration_type", "secure", "insecure"), Bool("online"), Str("targetstorage", format: "storage-pair-list"), Bool("with-local-disks"),
             Bool("with-conntrack-state")],
            Check: Perm("/vms/{vmid}", "VM.Migrate")),
        new("GET", "/nodes/{node}/qemu/{vmid}/config", [Node, VmId, Bool("current"), Str("snapshot", format: "pve-configid", maxLength: 40)],
            Check: Perm("/vms/{vmid}", "VM.Audit")),
        new("POST", "/nodes/{node}/qemu/{vmid}/config", [.. ConfigKeys(), Int("background_delay", 1, 30), Str("import-working-storage", format: "pve-storage-id")],
            Check: new PermissionCheck.Perm("/vms/{vmid}", ConfigPrivileges, Any: true)),
        new("PUT", "/nodes/{node}/qemu/{vmid}/config", [.. ConfigKeys()], Check: new PermissionCheck.Perm("/vms/{vmid}", ConfigPrivileges, Any: true)),
        new("GET", "/nodes/{node}/qemu/{vmid}/pending", [Node, VmId], Check: Perm("/vms/{vmid}", "VM.Audit")),
        new("PUT", "/nodes/{node}/qemu/{vmid}/resize",
            [Node, VmId, new ParamRule("disk", ParamType.String, Optional: false, Enum: DiskSlots), Str("size", optional: false, pattern: @"\+?\d+(\.\d+)?[KMGT]?"),
             Str("digest", maxLength: 40), Bool("skiplock")],
            Check: Perm("/vms/{vmid}", "VM.Config.Disk")),
        new("POST", "/nodes/{node}/qemu/{vmid}/status/start",
            [Node, VmId, Str("force-cpu"), Str("machine"), Str("migratedfrom", format: "pve-node"), Str("migration_network", format: "CIDR"),
             Enum("migration_type", "secure", "insecure"), Str("nets-host-mtu", pattern: @"net\d+=\d+(,net\d+=\d+)*"), Bool("skiplock"),
             Str("stateuri", maxLength: 128), Str("targetstorage", format: "storage-pair-list"), Int("timeout", 0), Bool("with-conntrack-state")],
            Check: Perm("/vms/{vmid}", "VM.PowerMgmt")),
        new("POST", "/nodes/{node}/qemu/{vmid}/status/stop",
            [Node, VmId, Bool("keepActive"), Str("migratedfrom", format: "pve-node"), Bool("overrule-shutdown"), Bool("skiplock"), Int("timeout", 0)],
            Check: Perm("/vms/{vmid}", "VM.PowerMgmt")),
        new("POST", "/nodes/{node}/qemu/{vmid}/status/shutdown",
            [Node, VmId, Bool("forceStop"), Bool("keepActive"), Bool("skiplock"), Int("timeout", 0)], Check: Perm("/vms/{vmid}", "VM.PowerMgmt")),
        new("POST", "/nodes/{node}/qemu/{vmid}/status/reboot", [Node, VmId, Int("timeout", 0)], Check: Perm("/vms/{vmid}", "VM.PowerMgmt")),
        new("POST", "/nodes/{node}/qemu/{vmid}/agent/ping", [Node, VmId], Check: AnyOf("/vms/{vmid}", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")),
        new("GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", [Node, VmId],
            Check: AnyOf("/vms/{vmid}", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")),
        new("GET", "/nodes/{node}/qemu/{vmid}/agent/get-host-name", [Node, VmId], Check: AnyOf("/vms/{vmid}", "VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted")),
        new("GET", "/nodes/{node}/tasks",
            [Node, Bool("errors"), Int("limit", 0), Int("since"), Enum("source", "archive", "active", "all"), Int("start", 0),
             Str("statusfilter", format: "pve-task-status-type-list"), Str("typefilter"), Int("until"), Str("userfilter"), VmIdParam(optional: true)]),
        new("GET", "/nodes/{node}/tasks/{upid}/status", [Node, Upid]),
        new("GET", "/nodes/{node}/tasks/{upid}/log", [Node, Upid, Bool("download"), Int("limit", 0), Int("start", 0)]),
        new("DELETE", "/nodes/{node}/tasks/{upid}", [Node, Upid]),
        new("GET", "/access/permissions", [Str("path"),
            Str("userid", pattern: @"(?:^(?:[^\s:/]+)\@(?:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?:[A-Za-z][A-Za-z0-9\.\-_]+))?$)")]),
        new("POST", "/access/ticket",
            [Str("username", optional: false, maxLength: 64), Str("password", optional: false), Bool("new-format"), Str("otp"),
             Str("path", maxLength: 64), Str("privs", format: "pve-priv-list", maxLength: 64), Str("realm", format: "pve-realm", maxLength: 32), Str("tfa-challenge")],
            AllowToken: false),
    ];

    private static readonly Dictionary<string, EndpointRule> ByKey = Endpoints.ToDictionary(e => e.Key, StringComparer.Ordinal);

    public static EndpointRule? Find(string method, string path) => ByKey.GetValueOrDefault(method + " " + path);
}
