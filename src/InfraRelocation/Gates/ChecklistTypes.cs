namespace InfraRelocation.Gates;

/// <summary>The protocol's three checklists, in the order a relocation meets them.</summary>
public enum ChecklistPhase
{
    /// <summary>Before entering cutover.</summary>
    PreCutover,
    /// <summary>After cutover, before cleanup.</summary>
    PostCutover,
    /// <summary>After cleanup, before the relocation is archived.</summary>
    PostCleanup,
}

/// <summary>What the evidence says about one checklist item.</summary>
public enum ChecklistItemState
{
    /// <summary>A receipt of this relocation (or the estate as it is) shows the item done.</summary>
    Done,
    /// <summary>No evidence yet, or the evidence read files that have changed since.</summary>
    Missing,
    /// <summary>The latest evidence failed.</summary>
    Failed,
    /// <summary>Done by an operator's override (-Force -Reason), recorded in a receipt.</summary>
    Overridden,
}

/// <summary>The items a person confirms with Confirm-RelocationChecklistItem (who, when and the evidence link go into a receipt).</summary>
public enum ChecklistConfirmation
{
    /// <summary>Pre-cutover: the relocation impact (Get-RelocationImpact) was reviewed.</summary>
    ImpactReviewed,
    /// <summary>Post-cleanup: the old resources were decommissioned.</summary>
    OldResourcesDecommissioned,
    /// <summary>Post-cleanup: the open loop (change ticket) was closed with evidence.</summary>
    OpenLoopClosed,
}

/// <summary>
/// One item of a protocol checklist, evaluated from evidence for the active relocation (Get-RelocationChecklist).
/// </summary>
public sealed record ChecklistItem
{
    public string? ChangeId { get; init; }
    public ChecklistPhase Phase { get; init; }
    /// <summary>Position in its checklist, from 1 (the protocol's order).</summary>
    public int Order { get; init; }
    /// <summary>Stable id, e.g. <c>PRE.Parity</c>.</summary>
    public string Id { get; init; } = "";
    /// <summary>The protocol's line.</summary>
    public string Title { get; init; } = "";
    public ChecklistItemState State { get; init; }
    /// <summary>What the state rests on: the receipt (run id and time), the finding, or what is missing.</summary>
    public string Evidence { get; init; } = "";
    /// <summary>The receipt the state rests on (the latest one when several subjects are involved); null when none.</summary>
    public string? RunId { get; init; }
    public DateTimeOffset? EvidenceUtc { get; init; }
    /// <summary>The command that would complete the item (null when it is done).</summary>
    public string? Command { get; init; }
    /// <summary>For the VM items (PRE.VmProvisioned, PRE.VmBootstrapped, PRE.VmReady): the phase whose VM targets they cover.</summary>
    public int? VmPhase { get; init; }
    /// <summary>The estate root the item was evaluated for (binds -Root down a pipeline).</summary>
    public string? EstateRoot { get; init; }
    /// <summary>
    /// True when the receipt the item rests on was appended after the last change, so the manifest's <c>ledger_anchor</c>
    /// does not seal it yet (the next change does); the evidence says so and names that change's run.
    /// </summary>
    public bool Unanchored { get; init; }

    public bool IsDone => State is ChecklistItemState.Done or ChecklistItemState.Overridden;

    public override string ToString() => $"[{State}] {Title}: {Evidence}";
}
