namespace InfraRelocation.Receipts;

/// <summary>One value a transition changes (or would change): file, document path, before and after.</summary>
public sealed record ValueChange
{
    /// <summary>File relative to the estate root.</summary>
    public string File { get; init; } = "";
    /// <summary>Document path, e.g. <c>services[?service=wiki].status</c>.</summary>
    public string Path { get; init; } = "";
    /// <summary>Null when the key was missing or null.</summary>
    public string? Before { get; init; }
    public string? After { get; init; }

    public override string ToString() => $"{File} {Path}: {Before ?? "(none)"} -> {After ?? "null"}";
}

/// <summary>A stale lease this run broke (who held it, why it was judged stale).</summary>
public sealed record LeaseTakeoverRecord
{
    public string? PreviousOwner { get; init; }
    public int? PreviousPid { get; init; }
    public string? PreviousMachine { get; init; }
    public string? PreviousPurpose { get; init; }
    public DateTime? PreviousAcquiredUtc { get; init; }
    public string Reason { get; init; } = "";
    public DateTime TakenOverUtc { get; init; }

    public override string ToString() => $"{PreviousOwner} (pid {PreviousPid} on {PreviousMachine}): {Reason}";
}

/// <summary>A file a committed transition wrote, with its digests before and after.</summary>
public sealed record WrittenFile
{
    public string Path { get; init; } = "";
    public string? OldSha256 { get; init; }
    public string NewSha256 { get; init; } = "";

    public override string ToString() => $"{Path} {Short(OldSha256)} -> {Short(NewSha256)}";

    private static string Short(string? sha) => sha is null ? "(new)" : sha[..Math.Min(12, sha.Length)];
}

/// <summary>
/// Evidence of a state/status transition (Set-RelocationState, Set-RelocationServiceStatus,
/// Set-RelocationVmTarget, Invoke-RelocationPromotion): what changed from what to what, the exact diff,
/// the files written and their digests, lease takeovers and crashed journals rolled back first.
/// </summary>
public record TransitionReceipt : RelocationReceipt
{
    public string? ChangeId { get; init; }
    /// <summary>What the transition is about: <c>relocation</c>, a service name or a VM hostname.</summary>
    public string Subject { get; init; } = "";
    /// <summary>The main value before (relocation state, service status, VM status), as written in YAML.</summary>
    public string? Before { get; init; }
    /// <summary>The requested value, as written in YAML.</summary>
    public string? After { get; init; }
    /// <summary>Every value changed (or, for a preview, that would change).</summary>
    public IReadOnlyList<ValueChange> Changes { get; init; } = [];
    /// <summary>Unified diff of the files (the exact bytes written, or that -WhatIf would write).</summary>
    public string Diff { get; init; } = "";
    /// <summary>Files written by the commit (empty for previews, blocked and unchanged runs).</summary>
    public IReadOnlyList<WrittenFile> Files { get; init; } = [];
    public string? TransactionId { get; init; }
    /// <summary>Stale leases broken to run this transition.</summary>
    public IReadOnlyList<LeaseTakeoverRecord> Takeovers { get; init; } = [];
    /// <summary>Journals of crashed transactions rolled back before this one (relative paths).</summary>
    public IReadOnlyList<string> RecoveredJournals { get; init; } = [];
    /// <summary>Guards overridden on purpose (-Force, -AllowSelfApproval), one sentence each.</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];
    /// <summary>The -Reason given with -Force (null when nothing was forced); the overridden findings are in Findings as warnings.</summary>
    public string? OverrideReason { get; init; }
}

/// <summary>Receipt of Set-RelocationState (capability <c>infra.relocation.state.transition</c>).</summary>
public sealed record RelocationStateReceipt : TransitionReceipt
{
    /// <summary>True when the run stepped back (-Rollback).</summary>
    public bool Rollback { get; init; }
    public string? ApprovedBy { get; init; }
}

/// <summary>
/// Receipt of Start-Relocation (capability <c>infra.relocation.start</c>) and Close-Relocation (capability
/// <c>infra.relocation.archive</c>): the relocation's change id, owner, and for an archive the evidence recorded.
/// </summary>
public sealed record RelocationLifecycleReceipt : TransitionReceipt
{
    /// <summary><c>start</c> or <c>archive</c>.</summary>
    public string Action { get; init; } = "";
    public string? Owner { get; init; }
}

/// <summary>
/// Receipt of Approve-RelocationEdit (capability <c>infra.relocation.handedit.adopt</c>): the hand-edited controlled
/// fields adopted (Changes: the value the last receipt set → the value in the file), who approved them and why.
/// </summary>
public sealed record HandEditAdoptionReceipt : TransitionReceipt
{
    public string ApprovedBy { get; init; } = "";
}

/// <summary>Receipt of Set-RelocationServiceStatus (capability <c>infra.relocation.service.transition</c>).</summary>
public sealed record ServiceStatusReceipt : TransitionReceipt
{
    public string Service { get; init; } = "";
}

/// <summary>Receipt of Set-RelocationVmTarget (capability <c>infra.relocation.vm.target</c>).</summary>
public sealed record VmTargetReceipt : TransitionReceipt
{
    public string Hostname { get; init; } = "";
}

/// <summary>One health probe of a promotion.</summary>
public sealed record HealthProbeRecord
{
    public int Attempt { get; init; }
    public string Url { get; init; } = "";
    /// <summary>Null when no HTTP answer arrived.</summary>
    public int? StatusCode { get; init; }
    public double LatencyMs { get; init; }
    public bool Healthy { get; init; }
    public string? Error { get; init; }
    public DateTimeOffset AtUtc { get; init; }

    public override string ToString() => $"#{Attempt} {(Healthy ? "healthy" : "UNHEALTHY")} {StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {LatencyMs:0.#} ms{(Error is null ? "" : " " + Error)}";
}

/// <summary>Receipt of Invoke-RelocationPromotion (capability <c>infra.relocation.promote</c>).</summary>
public sealed record PromotionReceipt : TransitionReceipt
{
    public string Service { get; init; } = "";
    public string? HealthUrl { get; init; }
    public IReadOnlyList<int> ExpectedStatus { get; init; } = [];
    /// <summary>Consecutive healthy probes required.</summary>
    public int RequiredProbes { get; init; }
    public IReadOnlyList<HealthProbeRecord> Probes { get; init; } = [];
    /// <summary>Parity (D35 + D37) on the files as written; null when it did not run.</summary>
    public bool? ParityPassed { get; init; }
    /// <summary>Why the written promotion was reverted (Outcome Reverted); null otherwise.</summary>
    public string? RevertReason { get; init; }
}
