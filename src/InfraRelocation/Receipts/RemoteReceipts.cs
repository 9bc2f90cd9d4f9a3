using InfraRelocation.Remote;

namespace InfraRelocation.Receipts;

/// <summary>
/// Receipt of <c>Invoke-RelocationPreflight</c> (capability <c>infra.relocation.preflight</c>): host reachability,
/// required files, a health baseline and backup verification. The cutover guard reads <see cref="HealthBaseline"/>
/// and <see cref="BackupVerification"/> from the ledger. Outcome Passed when nothing failed.
/// </summary>
public sealed record PreflightReceipt : RelocationReceipt
{
    public string? ChangeId { get; init; }
    public string? State { get; init; }
    public IReadOnlyList<HostReachability> Hosts { get; init; } = [];
    public IReadOnlyList<RequiredFileCheck> RequiredFiles { get; init; } = [];
    public IReadOnlyList<HealthBaselineEntry> HealthBaseline { get; init; } = [];
    public IReadOnlyList<BackupVerificationEntry> BackupVerification { get; init; } = [];
    public int ThrottleLimit { get; init; }
    public double DurationMs { get; init; }
}

/// <summary>Receipt of <c>Initialize-RelocationVm</c> (capability <c>infra.vm.bootstrap</c>).</summary>
public sealed record BootstrapReceipt : RelocationReceipt
{
    public string Hostname { get; init; } = "";
    public string Profile { get; init; } = "";
    public IReadOnlyList<BootstrapStepResult> Steps { get; init; } = [];
}

/// <summary>Receipt of <c>Get-VmReadiness</c> (capability <c>infra.vm.ready.status</c>).</summary>
public sealed record ReadinessReceipt : RelocationReceipt
{
    public string Hostname { get; init; } = "";
    public string Profile { get; init; } = "";
    public int? VmId { get; init; }
    public IReadOnlyList<ReadinessCheck> Checks { get; init; } = [];
    public bool IsReady { get; init; }
}

/// <summary>Receipt of <c>Set-HypervisorHostname</c> (capability <c>infra.hypervisor.hostname.set</c>).</summary>
public sealed record HostnameChangeReceipt : RelocationReceipt
{
    public string HostId { get; init; } = "";
    public string NewName { get; init; } = "";
    public string? PreviousName { get; init; }
    public string? ReportedName { get; init; }
    public string? MachineId { get; init; }
    public string? PinnedMachineId { get; init; }
    /// <summary><c>hostnamectl</c>, <c>fallback</c>, <c>none</c> (already set) or null (not run).</summary>
    public string? Method { get; init; }
    /// <summary>The rename's steps (hosts, hostname, node directory, certificates, the estate's node pin) and their states.</summary>
    public IReadOnlyList<BootstrapStepResult> Steps { get; init; } = [];
    /// <summary>
    /// Every file the rename changed, on the node (absolute paths; a move reads <c>old → new</c>) and in the estate
    /// (relative paths); under -WhatIf every file it would change.
    /// </summary>
    public IReadOnlyList<string> Files { get; init; } = [];
    /// <summary>Unified diff of the estate's pins (what -WhatIf would write, or what the run wrote).</summary>
    public string Diff { get; init; } = "";
    /// <summary>The estate files the run wrote, with their digests before and after (the transaction that recorded this receipt).</summary>
    public IReadOnlyList<WrittenFile> EstateFiles { get; init; } = [];
    /// <summary>The estate transaction this receipt was recorded in (null when the estate was not written).</summary>
    public string? TransactionId { get; init; }
}
