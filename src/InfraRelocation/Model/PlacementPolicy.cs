namespace InfraRelocation.Model;

/// <summary>The placement policy, <c>ops/bindings/infra.placement.policy.yaml</c>: sites, hosts, ranges, rules.</summary>
public sealed record PlacementPolicy : ModelEntry
{
    public string File { get; init; } = "";
    public IReadOnlyDictionary<string, PlacementSite> Sites { get; init; } = new Dictionary<string, PlacementSite>();
    public IReadOnlyDictionary<string, PlacementHost> Hosts { get; init; } = new Dictionary<string, PlacementHost>();
    public IReadOnlyDictionary<string, VmTargetRequirement> VmTargetRequirements { get; init; } = new Dictionary<string, VmTargetRequirement>();
    public IReadOnlyDictionary<string, ServicePlacementRule> ServicePlacement { get; init; } = new Dictionary<string, ServicePlacementRule>();
    public PlacementGuards Guards { get; init; } = new();
}

public sealed record PlacementSite : ModelEntry
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> ProxmoxHosts { get; init; } = [];
    public int? VmidMin { get; init; }
    public int? VmidMax { get; init; }
}

public sealed record PlacementHost : ModelEntry
{
    public string Id { get; init; } = "";
    public string? Site { get; init; }
    /// <summary><c>proxmox</c>, <c>vm</c>, <c>storage</c>, <c>workstation</c>, ...</summary>
    public string? Kind { get; init; }
    /// <summary>Pinned machine id (32 hex) of a hypervisor; asserted before any mutation on it.</summary>
    public string? MachineId { get; init; }
    public bool IsProxmox => string.Equals(Kind, "proxmox", StringComparison.Ordinal);
}

public sealed record VmTargetRequirement : ModelEntry
{
    public string Hostname { get; init; } = "";
    public string? RequiredSite { get; init; }
    public string? RequiredProxmoxHost { get; init; }
}

public sealed record ServicePlacementRule : ModelEntry
{
    public string Service { get; init; } = "";
    public string? PrimarySite { get; init; }
    /// <summary>Sites a rollback target may be in; an empty list forbids rollback targets; null when absent.</summary>
    public IReadOnlyList<string>? DrSites { get; init; }
}

/// <summary>Policy switches; a missing guard is false.</summary>
public sealed record PlacementGuards : ModelEntry
{
    public bool EnforceVmidRanges { get; init; }
    public bool RequireExplicitVmTargetRequirements { get; init; }
    public bool RequireServicePolicyForManifestServices { get; init; }
    public bool EnforceServicePrimarySite { get; init; }
    public bool EnforceVmSiteMatchesHypervisorSite { get; init; }
}
