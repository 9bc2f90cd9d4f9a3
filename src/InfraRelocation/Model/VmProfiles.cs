namespace InfraRelocation.Model;

/// <summary>VM profiles, <c>ops/bindings/infra.vm.profiles.yaml</c>: how to provision, bootstrap and check a VM.</summary>
public sealed record VmProfileCatalog : ModelEntry
{
    public string File { get; init; } = "";
    /// <summary><c>defaults</c>: fallbacks for every profile's provisioning settings, plus the hypervisor user.</summary>
    public ProvisioningSettings Defaults { get; init; } = new();
    public string? ProxmoxUser { get; init; }
    public IReadOnlyDictionary<string, VmProfile> Profiles { get; init; } = new Dictionary<string, VmProfile>();
}

public sealed record VmProfile : ModelEntry
{
    public string Name { get; init; } = "";
    public string? Description { get; init; }
    public ProvisioningSettings Provisioning { get; init; } = new();
    public BootstrapSettings Bootstrap { get; init; } = new();
    public ReadinessSettings Readiness { get; init; } = new();
}

/// <summary>
/// Provisioning settings as written; null means "not set here" (fall back to defaults, then built-ins),
/// so an explicit <c>false</c> is honoured (the reference treated false as unset).
/// </summary>
public sealed record ProvisioningSettings : ModelEntry
{
    /// <summary>Template VMID; null when unset (missing, null or <c>__SET_ME__</c>).</summary>
    public int? TemplateVmId { get; init; }
    public int? CpuCores { get; init; }
    public int? MemoryMb { get; init; }
    public int? DiskGb { get; init; }
    public string? Bridge { get; init; }
    public string? Storage { get; init; }
    public string? CiNetworkCidr { get; init; }
    public string? CiUser { get; init; }
    public string? Nameserver { get; init; }
    public string? SearchDomain { get; init; }
    public string? SshKeyFile { get; init; }
    public bool? QemuAgent { get; init; }
    public bool? OnBoot { get; init; }
    /// <summary>Resource pool the clone joins (PVE <c>pool</c>), for ACLs granted through pools; null: none.</summary>
    public string? Pool { get; init; }
}

public sealed record BootstrapSettings : ModelEntry
{
    public string? PackageManager { get; init; }
    public IReadOnlyList<string> Packages { get; init; } = [];
    public IReadOnlyList<string> ServicesEnable { get; init; } = [];
    public bool? RequireTailscaleConnected { get; init; }
    public bool? RequireQemuAgentRunning { get; init; }
    public bool? RequireDockerRunning { get; init; }
    public bool? RequireCronRunning { get; init; }
    /// <summary>Where the mesh auth key comes from (a secret reference, never the key itself).</summary>
    public string? TailscaleAuthSecretPath { get; init; }
    public string? TailscaleAuthSecretKey { get; init; }
    public IReadOnlyList<CronHook> CronHooks { get; init; } = [];
    /// <summary>
    /// <c>steps[]</c>: extra site-specific steps run after the built-in ones, each with a check command
    /// (exit 0 = already done) and a run command. With <c>package_manager: none</c> they can replace the built-ins.
    /// </summary>
    public IReadOnlyList<BootstrapCustomStep> Steps { get; init; } = [];
}

/// <summary>A profile's own bootstrap step (<c>bootstrap.steps[]</c>): POSIX shell commands run on the VM.</summary>
public sealed record BootstrapCustomStep : ModelEntry
{
    public string Name { get; init; } = "";
    /// <summary>Exit 0 means the step is already done (then <see cref="Run"/> is not run).</summary>
    public string? Check { get; init; }
    public string? Run { get; init; }
}

public sealed record CronHook : ModelEntry
{
    public string Name { get; init; } = "";
    public string? Schedule { get; init; }
    public string? Command { get; init; }
    public bool Required { get; init; }
}

/// <summary>Which readiness checks a profile requires; null means the default (true).</summary>
public sealed record ReadinessSettings : ModelEntry
{
    public bool? RequireRunning { get; init; }
    public bool? RequireSshTargetBinding { get; init; }
    public bool? RequireSshReachability { get; init; }
    public bool? RequireTailscaleConnected { get; init; }
    public bool? RequireQemuAgentRunning { get; init; }
    public bool? RequireCronRunning { get; init; }
    public bool? RequireBackupBinding { get; init; }
}
