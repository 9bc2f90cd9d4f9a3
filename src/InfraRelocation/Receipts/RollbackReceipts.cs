using InfraRelocation.Gates;
using InfraRelocation.Remote;

namespace InfraRelocation.Receipts;

/// <summary>One executed (or previewed) step of a rollback: the protocol's step, where it ran, what it ran and what came of it.</summary>
public sealed record RollbackStepRecord
{
    /// <summary>1-based position in the service's rollback.</summary>
    public int Order { get; init; }
    /// <summary>e.g. <c>stop</c>, <c>verify-backup</c>, <c>restore</c>, <c>start</c>, <c>route</c>, <c>revert</c>, <c>gates</c>, <c>document</c>.</summary>
    public string Step { get; init; } = "";
    public RollbackStepKind Kind { get; init; }
    /// <summary>The host id the step acts on (null for estate steps).</summary>
    public string? Host { get; init; }
    /// <summary>The remote command that decides whether the step is done (exit 0 = done).</summary>
    public string? CheckCommand { get; init; }
    /// <summary>The remote command (or, for estate steps, what is done).</summary>
    public string? RunCommand { get; init; }
    /// <summary>Done / Unchanged (its check passed, or the journal says it finished) / Failed / NotRun / Planned / Skipped.</summary>
    public BootstrapStepState State { get; init; }
    public string Evidence { get; init; } = "";
    public DateTimeOffset? StartedUtc { get; init; }
    public DateTimeOffset? EndedUtc { get; init; }

    public override string ToString() => $"{Order}. {Step}{(Host is null ? "" : " @" + Host)}: {State} {Evidence}";
}

/// <summary>
/// Receipt of Invoke-RelocationRollback (capability <c>infra.relocation.rollback</c>): the protocol's seven steps for one
/// service with their evidence, the SSOT values reverted (Changes, Diff, Files) and the incident record written.
/// </summary>
public sealed record RollbackReceipt : TransitionReceipt
{
    public string Service { get; init; } = "";
    /// <summary>The host the service moved to (where it is stopped).</summary>
    public string? NewHost { get; init; }
    /// <summary>The host it goes back to (rollback_to).</summary>
    public string? RollbackTo { get; init; }
    /// <summary>Why the service is rolled back (-Reason of the run; also in the incident record).</summary>
    public string? Why { get; init; }
    public IReadOnlyList<RollbackStepRecord> Steps { get; init; } = [];
    /// <summary>The incident record in the estate (relative path), once written.</summary>
    public string? IncidentRecord { get; init; }
    /// <summary>Per reverted file: whether its bytes now equal the bytes before the move (SHA-256 recorded by the move's receipts).</summary>
    public IReadOnlyList<string> ByteIdentity { get; init; } = [];
    /// <summary>True when this run resumed a journal left by an interrupted run.</summary>
    public bool Resumed { get; init; }
    /// <summary>The rollback journal (relative path) while the rollback is unfinished.</summary>
    public string? Journal { get; init; }
}
