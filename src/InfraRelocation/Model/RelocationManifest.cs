namespace InfraRelocation.Model;

/// <summary>The relocation manifest, <c>ops/bindings/infra.relocation.plan.yaml</c>: the transaction.</summary>
public sealed record RelocationManifest : ModelEntry
{
    /// <summary>Path of the file, relative to the estate root.</summary>
    public string File { get; init; } = "";
    public int? Version { get; init; }
    public string? UpdatedAt { get; init; }
    public string? Owner { get; init; }
    /// <summary>The relocation in progress; null when the manifest has none.</summary>
    public ActiveRelocation? ActiveRelocation { get; init; }
    public IReadOnlyList<CompletedRelocation> CompletedRelocations { get; init; } = [];
    public IReadOnlyList<VmTarget> VmTargets { get; init; } = [];
    public IReadOnlyList<ServiceMove> Services { get; init; } = [];
    public IReadOnlyList<RequiredUpdate> RequiredUpdates { get; init; } = [];
    public IReadOnlyList<ExceptionEntry> Exceptions { get; init; } = [];
    public RollbackPolicy? Rollback { get; init; }
    /// <summary>
    /// <c>ledger_anchor</c>: the receipt ledger's head and the transaction of the last change, written by every change
    /// (<c>tx &lt;id&gt; after &lt;sha256&gt;</c>); null for an estate no change has anchored yet.
    /// </summary>
    public string? LedgerAnchor { get; init; }
    /// <summary>The estate root the object was read from (set by Get-RelocationManifest), so -Root binds from it down a pipeline.</summary>
    public string? EstateRoot { get; init; }
}

/// <summary><c>active_relocation</c>: identity, state and approval of the relocation in progress.</summary>
public sealed record ActiveRelocation : ModelEntry
{
    public string? ChangeId { get; init; }
    /// <summary>The parsed state; null when <see cref="StateText"/> is missing or not a known state.</summary>
    public RelocationState? State { get; init; }
    /// <summary>The state exactly as written in the file.</summary>
    public string? StateText { get; init; }
    public string? Owner { get; init; }
    public string? ApprovedBy { get; init; }
    public string? UpdatedAt { get; init; }
}

/// <summary>An archived relocation (<c>completed_relocations[]</c>).</summary>
public sealed record CompletedRelocation : ModelEntry
{
    public string? ChangeId { get; init; }
    public string? State { get; init; }
    public string? CompletedAt { get; init; }
}

/// <summary>A VM the relocation provisions (<c>vm_targets[]</c>), keyed by <see cref="Hostname"/>.</summary>
public sealed record VmTarget : ModelEntry
{
    public int Index { get; init; }
    public string Hostname { get; init; } = "";
    /// <summary>Proxmox VMID; the reference writes it as a quoted string, both forms are read.</summary>
    public int? VmId { get; init; }
    public string? Role { get; init; }
    public string? TailscaleIp { get; init; }
    public string? ProxmoxHost { get; init; }
    /// <summary><c>dhcp</c> or <c>&lt;ip&gt;/&lt;prefix&gt;,gw=&lt;gw&gt;</c>; overrides the profile.</summary>
    public string? CiNetworkCidr { get; init; }
    /// <summary>The VM profile the target is built with (optional; the reference had no way to record it).</summary>
    public string? Profile { get; init; }
    public VmTargetStatus? Status { get; init; }
    public string? StatusText { get; init; }
    /// <summary>The address the guest agent reported when the VM was provisioned (<c>address</c>).</summary>
    public string? Address { get; init; }
    /// <summary>The estate root the object was read from (set by Get-RelocationManifest), so -Root binds from it down a pipeline.</summary>
    public string? EstateRoot { get; init; }
}

/// <summary>One service move (<c>services[]</c>), keyed by <see cref="Service"/>.</summary>
public sealed record ServiceMove : ModelEntry
{
    public int Index { get; init; }
    public string Service { get; init; } = "";
    /// <summary>Null for a new deployment.</summary>
    public string? FromHost { get; init; }
    public string? ToHost { get; init; }
    public int? Phase { get; init; }
    public string? HealthUrl { get; init; }
    public string? RollbackTo { get; init; }
    public string? BackupTarget { get; init; }
    public ServiceStatus? Status { get; init; }
    public string? StatusText { get; init; }
    /// <summary>The estate root the object was read from (set by Get-RelocationManifest), so -Root binds from it down a pipeline.</summary>
    public string? EstateRoot { get; init; }
}

/// <summary>A file that must be updated by the relocation (<c>required_updates[]</c>).</summary>
public sealed record RequiredUpdate : ModelEntry
{
    public string Path { get; init; } = "";
}

/// <summary>A temporary, expiring exception (<c>exceptions[]</c> in the manifest or the exception register).</summary>
public sealed record ExceptionEntry : ModelEntry
{
    public string Label { get; init; } = "";
    public string? Owner { get; init; }
    public string? Reason { get; init; }
    /// <summary>Parsed expiry; null when <see cref="ExpiresAtText"/> is missing or unparseable.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? ExpiresAtText { get; init; }
    /// <summary>Only in the exception register; null when absent.</summary>
    public IReadOnlyList<string>? AllowedPaths { get; init; }
    /// <summary>Which file declared it, relative to the estate root.</summary>
    public string File { get; init; } = "";
}

/// <summary><c>rollback</c>: the manifest's rollback requirements.</summary>
public sealed record RollbackPolicy : ModelEntry
{
    public double? MaxRollbackWindowHours { get; init; }
    public bool? RequiresBackupVerification { get; init; }
    public bool? RequiresHealthBaseline { get; init; }
}
