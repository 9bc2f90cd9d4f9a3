using System.Globalization;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Model;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Provisioning;

/// <summary>
/// The settings a VM is built with, resolved target → profile → profile defaults → built-ins. An explicit
/// <c>false</c> in the profile is honoured (the reference treated it as unset).
/// </summary>
public sealed record ResolvedProvisioning
{
    public int? TemplateVmId { get; init; }
    public int Cores { get; init; }
    public int MemoryMb { get; init; }
    public int DiskGb { get; init; }
    public string Bridge { get; init; } = "";
    public string Storage { get; init; } = "";
    public string CiUser { get; init; } = "";
    /// <summary><c>dhcp</c> or <c>&lt;ip&gt;/&lt;prefix&gt;,gw=&lt;gw&gt;</c>.</summary>
    public string CiNetwork { get; init; } = "";
    public string? Nameserver { get; init; }
    public string? SearchDomain { get; init; }
    /// <summary>The public key file, <c>~</c> expanded; null when none is configured.</summary>
    public string? SshKeyFile { get; init; }
    public bool QemuAgent { get; init; }
    public bool OnBoot { get; init; }
    /// <summary>Resource pool the clone joins; null: none.</summary>
    public string? Pool { get; init; }

    /// <summary>The <c>ipconfig0</c> value: <c>ip=dhcp</c> or <c>ip=10.0.0.5/24,gw=10.0.0.1</c>.</summary>
    public string IpConfig0 => CiNetwork.Contains("ip=", StringComparison.Ordinal) || CiNetwork.Contains("ip6=", StringComparison.Ordinal)
        ? CiNetwork : "ip=" + CiNetwork;

    public IReadOnlyDictionary<string, string> ToDictionary()
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["template_vmid"] = TemplateVmId?.ToString(CultureInfo.InvariantCulture) ?? "(unset)",
            ["cpu_cores"] = Cores.ToString(CultureInfo.InvariantCulture),
            ["memory_mb"] = MemoryMb.ToString(CultureInfo.InvariantCulture),
            ["disk_gb"] = DiskGb.ToString(CultureInfo.InvariantCulture),
            ["bridge"] = Bridge,
            ["storage"] = Storage,
            ["ci_user"] = CiUser,
            ["ci_network_cidr"] = CiNetwork,
            ["qemu_agent"] = QemuAgent ? "true" : "false",
            ["onboot"] = OnBoot ? "true" : "false",
        };
        if (Nameserver is not null) d["nameserver"] = Nameserver;
        if (SearchDomain is not null) d["search_domain"] = SearchDomain;
        if (SshKeyFile is not null) d["sshkey_file"] = SshKeyFile;
        if (Pool is not null) d["pool"] = Pool;
        return d;
    }
}

/// <summary>How a template's clone reaches the target node.</summary>
public enum CloneRoute
{
    /// <summary>The template is on the target node: clone there.</summary>
    SameNode,
    /// <summary>Every volume of the template and the profile's storage are shared: clone with <c>target</c>.</summary>
    CloneWithTarget,
    /// <summary>Local storage: clone on the template's node, then migrate the stopped VM with its local disks.</summary>
    CloneThenMigrate,
}

/// <summary>A template found in the cluster: its config, its node, and the route of its clones to the target node.</summary>
public sealed record TemplateSource(VmConfig Config, string Node, CloneRoute Route);

/// <summary>What New-ProxmoxVm will do for one VM target: resolved settings and the exact ordered calls.</summary>
public sealed record ProvisionPlan
{
    public required VmTarget Target { get; init; }
    public required string ProfileName { get; init; }
    public required ResolvedProvisioning Settings { get; init; }
    /// <summary>The hypervisor's host id (placement policy, proxmox settings).</summary>
    public required string HypervisorHost { get; init; }
    public required string Node { get; init; }
    /// <summary>The VMID (target's, journal's, or the one the range gives); null when none could be chosen in a preview.</summary>
    public int? VmId { get; init; }
    /// <summary>True when the VMID comes from the site's range and must be written to the manifest before cloning.</summary>
    public bool ReserveVmId { get; init; }
    public string DiskKey { get; init; } = "scsi0";
    public required string ManifestFile { get; init; }
    public IReadOnlyList<ProvisionStep> Steps { get; init; } = [];
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The plan as lines for -WhatIf / verbose: one call per line, secrets masked.</summary>
    public IEnumerable<string> Describe()
    {
        yield return $"Provision {Target.Hostname} on {HypervisorHost} (node {Node}), VMID {VmId?.ToString(CultureInfo.InvariantCulture) ?? "(none free)"}, profile {ProfileName}";
        foreach (var step in Steps)
        {
            yield return $"  {step.Order}. {step.Name,-12} {step}";
        }
        foreach (var note in Notes)
        {
            yield return "  note: " + note;
        }
    }
}

/// <summary>Resolves a VM target's settings and builds the ordered call list of its provisioning.</summary>
public static class ProvisionPlanner
{
    public const int BuiltInCores = 2;
    public const int BuiltInMemoryMb = 4096;
    public const int BuiltInDiskGb = 32;
    public const string BuiltInBridge = "vmbr0";
    public const string BuiltInStorage = "local-lvm";
    public const string BuiltInCiUser = "ubuntu";
    public const string BuiltInCiNetwork = "dhcp";

    /// <summary>The manifest's VM target called <paramref name="hostname"/>.</summary>
    public static VmTarget FindTarget(EstateSnapshot estate, string hostname)
    {
        var manifestFile = estate.Layout.RelativePath(EstateFile.Manifest);
        if (estate.Manifest is not { } manifest)
        {
            throw new RelocationException("ManifestMissing", FailureKind.ObjectNotFound,
                $"The relocation manifest {manifestFile} does not exist.", target: manifestFile);
        }
        var matches = manifest.VmTargets.Where(v => string.Equals(v.Hostname, hostname, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new RelocationException("ProvisionTargetNotFound", FailureKind.ObjectNotFound,
                $"{manifestFile} has no vm_targets entry with hostname '{hostname}'" +
                (manifest.VmTargets.Count > 0 ? $" (targets: {string.Join(", ", manifest.VmTargets.Select(v => v.Hostname))})." : "."),
                manifest.Location, hostname),
            _ => throw new RelocationException("ProvisionTargetAmbiguous", FailureKind.InvalidData,
                $"{manifestFile} has {matches.Count} vm_targets entries with hostname '{hostname}' (at {string.Join(", ", matches.Select(m => m.Location))}).",
                matches[1].Location, hostname),
        };
    }

    /// <summary>The profile: <paramref name="profileName"/>, else the target's <c>profile</c>.</summary>
    public static (string Name, VmProfile Profile, VmProfileCatalog Catalog) FindProfile(EstateSnapshot estate, VmTarget target, string? profileName)
    {
        var profilesFile = estate.Layout.RelativePath(EstateFile.VmProfiles);
        if (estate.Profiles is not { } catalog)
        {
            throw new RelocationException("VmProfilesMissing", FailureKind.ObjectNotFound,
                $"The VM profiles file {profilesFile} does not exist.", target: profilesFile);
        }
        var name = string.IsNullOrWhiteSpace(profileName) ? target.Profile : profileName;
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new RelocationException("VmProfileNotGiven", FailureKind.InvalidArgument,
                $"VM target {target.Hostname} at {target.Location} names no profile; pass -Profile or set its profile.",
                target.Location, target.Hostname);
        }
        if (!catalog.Profiles.TryGetValue(name, out var profile))
        {
            throw new RelocationException("VmProfileNotFound", FailureKind.ObjectNotFound,
                $"{profilesFile} has no profile '{name}' (profiles: {string.Join(", ", catalog.Profiles.Keys)}).",
                string.IsNullOrWhiteSpace(profileName) ? target.LocationOf("profile") : catalog.Location, name);
        }
        return (name, profile, catalog);
    }

    /// <summary>Target → profile → defaults → built-ins. <paramref name="homeDirectory"/> expands a leading <c>~</c>.</summary>
    public static ResolvedProvisioning Resolve(VmTarget target, VmProfile profile, ProvisioningSettings defaults,
        int? templateOverride = null, string? homeDirectory = null)
    {
        var p = profile.Provisioning;
        var keyFile = p.SshKeyFile ?? defaults.SshKeyFile;
        var resolved = new ResolvedProvisioning
        {
            TemplateVmId = templateOverride ?? p.TemplateVmId ?? defaults.TemplateVmId,
            Cores = p.CpuCores ?? defaults.CpuCores ?? BuiltInCores,
            MemoryMb = p.MemoryMb ?? defaults.MemoryMb ?? BuiltInMemoryMb,
            DiskGb = p.DiskGb ?? defaults.DiskGb ?? BuiltInDiskGb,
            Bridge = p.Bridge ?? defaults.Bridge ?? BuiltInBridge,
            Storage = p.Storage ?? defaults.Storage ?? BuiltInStorage,
            CiUser = p.CiUser ?? defaults.CiUser ?? BuiltInCiUser,
            CiNetwork = Blank(target.CiNetworkCidr) ?? p.CiNetworkCidr ?? defaults.CiNetworkCidr ?? BuiltInCiNetwork,
            Nameserver = Blank(p.Nameserver ?? defaults.Nameserver),
            SearchDomain = Blank(p.SearchDomain ?? defaults.SearchDomain),
            SshKeyFile = keyFile is null ? null : ExpandHome(keyFile, homeDirectory),
            QemuAgent = p.QemuAgent ?? defaults.QemuAgent ?? true,
            OnBoot = p.OnBoot ?? defaults.OnBoot ?? true,
            Pool = Blank(p.Pool ?? defaults.Pool),
        };
        if (resolved.Cores < 1 || resolved.MemoryMb < 16 || resolved.DiskGb < 1)
        {
            throw new RelocationException("ProvisionSettingInvalid", FailureKind.InvalidData,
                $"Profile {profile.Name} resolves to cores {resolved.Cores}, memory {resolved.MemoryMb} MB, disk {resolved.DiskGb} GB; each must be positive (memory at least 16 MB).",
                p.Location ?? profile.Location, profile.Name);
        }
        return resolved;
    }

    /// <summary>
    /// Builds the plan. <paramref name="vmId"/> is the VMID to use (null: none could be chosen); <paramref name="reserveVmId"/>
    /// adds the manifest write that reserves it; <paramref name="sshKeys"/> is the public key text (null: none).
    /// </summary>
    public static ProvisionPlan Plan(EstateSnapshot estate, VmTarget target, string profileName, ResolvedProvisioning settings,
        ProxmoxHostSettings host, int? vmId, bool reserveVmId, string? sshKeys, IEnumerable<string>? notes = null, string diskKey = "scsi0",
        string? net0 = null, string? templateNode = null, CloneRoute route = CloneRoute.SameNode)
    {
        var manifestFile = estate.Layout.RelativePath(EstateFile.Manifest);
        var node = host.Node;
        var id = vmId?.ToString(CultureInfo.InvariantCulture) ?? "<vmid>";
        var tpl = settings.TemplateVmId?.ToString(CultureInfo.InvariantCulture) ?? "<template_vmid unset>";
        var allNotes = new List<string>(notes ?? []);
        var steps = new List<ProvisionStep>();
        var vmPath = $"/nodes/{node}/qemu/{id}";
        void Add(string name, string method, string path, Dictionary<string, string> parameters, string? note = null) =>
            steps.Add(new ProvisionStep { Order = steps.Count + 1, Name = name, Method = method, Path = path, Parameters = parameters, Note = note });

        if (reserveVmId)
        {
            Add("reserve-vmid", "FILE", manifestFile, new() { [$"vm_targets[?hostname={target.Hostname}].vm_id"] = id },
                "lowest free VMID of the site's range, written under the estate lease before cloning");
        }
        var cloneNode = templateNode ?? node;
        var clone = new Dictionary<string, string> { ["newid"] = id, ["name"] = target.Hostname, ["full"] = "1", ["storage"] = settings.Storage };
        if (route == CloneRoute.CloneWithTarget) clone["target"] = node;
        if (settings.Pool is not null) clone["pool"] = settings.Pool;
        Add("clone", "POST", $"/nodes/{cloneNode}/qemu/{tpl}/clone", clone, route switch
        {
            CloneRoute.CloneWithTarget => $"template on node {cloneNode}, all its volumes on shared storage: cloned straight to {node}; then wait for the qmclone task",
            CloneRoute.CloneThenMigrate => $"template on node {cloneNode} with local storage: cloned there first; then wait for the qmclone task",
            _ => "then wait for the qmclone task",
        });
        if (route == CloneRoute.CloneThenMigrate)
        {
            Add("migrate", "POST", $"/nodes/{cloneNode}/qemu/{id}/migrate", new() { ["target"] = node, ["with-local-disks"] = "1" },
                "offline, the VM is stopped; then wait for the qmigrate task");
        }
        var config = DesiredConfig(settings, net0 ?? $"virtio=<MAC of the clone>,bridge={settings.Bridge}", sshKeys);
        var shown = config.Values.ToDictionary(kv => kv.Key, kv => kv.Key == "sshkeys" ? DescribeKeys(sshKeys!, settings.SshKeyFile) : kv.Value, StringComparer.Ordinal);
        Add("configure", "PUT", vmPath + "/config", shown, "only keys that differ are sent; net0 keeps the clone's MAC");
        Add("resize", "PUT", vmPath + "/resize", new() { ["disk"] = diskKey, ["size"] = $"{settings.DiskGb}G" }, "grow only; skipped when already that size");
        Add("start", "POST", vmPath + "/status/start", new(), "skipped when running");
        Add("address", "GET", vmPath + "/agent/network-get-interfaces", new(), "polled until the guest agent reports an address");
        var record = new Dictionary<string, string>
        {
            [$"vm_targets[?hostname={target.Hostname}].status"] = "provisioned",
            [$"vm_targets[?hostname={target.Hostname}].address"] = "<guest address>",
        };
        if (!string.Equals(target.Profile, profileName, StringComparison.Ordinal))
        {
            record[$"vm_targets[?hostname={target.Hostname}].profile"] = profileName;
        }
        Add("record", "FILE", manifestFile, record, "through the estate transaction");

        if (settings.TemplateVmId is null)
        {
            allNotes.Add($"template_vmid is not set for profile {profileName}: the run will refuse to clone.");
        }
        return new ProvisionPlan
        {
            Target = target, ProfileName = profileName, Settings = settings, HypervisorHost = host.HostId, Node = node,
            VmId = vmId, ReserveVmId = reserveVmId, DiskKey = diskKey, ManifestFile = manifestFile, Steps = steps, Notes = allNotes,
        };
    }

    /// <summary>The config the VM must have after the configure step (<paramref name="net0"/> carries the clone's MAC).</summary>
    public static VmConfigUpdate DesiredConfig(ResolvedProvisioning s, string net0, string? sshKeys)
    {
        var update = new VmConfigUpdate()
            .Set("cores", s.Cores)
            .Set("memory", s.MemoryMb)
            .Set("net0", net0)
            .Set("agent", s.QemuAgent)
            .Set("onboot", s.OnBoot)
            .Set("ciuser", s.CiUser)
            .Set("ipconfig0", s.IpConfig0);
        if (s.Nameserver is not null) update.Set("nameserver", s.Nameserver);
        if (s.SearchDomain is not null) update.Set("searchdomain", s.SearchDomain);
        if (!string.IsNullOrWhiteSpace(sshKeys)) update.SshKeys(sshKeys);
        return update;
    }

    /// <summary>net0 with the bridge set and every other option (model=MAC, firewall, tag…) kept.</summary>
    public static string Net0For(string? current, string bridge)
    {
        if (string.IsNullOrWhiteSpace(current)) return $"virtio,bridge={bridge}";
        var parts = current.Split(',').ToList();
        var i = parts.FindIndex(p => p.StartsWith("bridge=", StringComparison.Ordinal));
        if (i >= 0) parts[i] = "bridge=" + bridge;
        else parts.Insert(1, "bridge=" + bridge);
        return string.Join(',', parts);
    }

    private static string DescribeKeys(string keys, string? file)
    {
        var count = keys.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;
        return $"<{count} public key(s) from {file}>";
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string ExpandHome(string path, string? home)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            home ??= Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, path.Length > 2 ? path[2..] : "");
        }
        return path;
    }
}
