using InfraRelocation.Gates;

namespace InfraRelocation.Receipts;

/// <summary>Receipt of a gate run (parity, placement, exception hygiene, identity or all of them).</summary>
public sealed record GateReceipt : RelocationReceipt
{
    /// <summary>One result per gate that ran.</summary>
    public IReadOnlyList<GateResult> Results { get; init; } = [];
    public string? ChangeId { get; init; }
    /// <summary>The relocation state as written in the manifest (null when none is active).</summary>
    public string? State { get; init; }
    /// <summary>The process exit code a scheduled task should use: 0 pass, 1 findings, 2 invalid input.</summary>
    public int ExitCode { get; init; }
}

/// <summary>Receipt of Get-RelocationImpact.</summary>
public sealed record ImpactReceipt : RelocationReceipt
{
    public IReadOnlyList<ImpactItem> Items { get; init; } = [];
    public int PendingCount => Items.Count(i => !i.Satisfied);
}

/// <summary>Receipt of Get-RelocationRollbackPlan.</summary>
public sealed record RollbackPlanReceipt : RelocationReceipt
{
    public string? ChangeId { get; init; }
    public string? State { get; init; }
    public double? MaxRollbackWindowHours { get; init; }
    public bool? RequiresBackupVerification { get; init; }
    public IReadOnlyList<RollbackStep> Steps { get; init; } = [];
}

/// <summary>Receipt of Export-RelocationReport.</summary>
public sealed record ReportReceipt : RelocationReceipt
{
    public string Format { get; init; } = "";
    public string Path { get; init; } = "";
    public int FindingCount { get; init; }
}
