using InfraRelocation.Gates;

namespace InfraRelocation.Receipts;

/// <summary>Receipt of Get-RelocationChecklist (capability <c>infra.relocation.checklist</c>): every item as evaluated.</summary>
public sealed record ChecklistReceipt : RelocationReceipt
{
    public string? ChangeId { get; init; }
    public string? State { get; init; }
    public IReadOnlyList<ChecklistItem> Items { get; init; } = [];
    public int DoneCount => Items.Count(i => i.IsDone);
}

/// <summary>
/// Receipt of Confirm-RelocationChecklistItem (capability <c>infra.relocation.checklist.confirm</c>): a person's
/// confirmation of a checklist item that needs one, with who, when (the receipt's time) and the evidence link.
/// </summary>
public sealed record ChecklistConfirmationReceipt : RelocationReceipt
{
    public string? ChangeId { get; init; }
    public ChecklistConfirmation Item { get; init; }
    public string ConfirmedBy { get; init; } = "";
    /// <summary>Where the evidence is (ticket, document, URL).</summary>
    public string Evidence { get; init; } = "";
    /// <summary>The run the confirmation reviewed (for ImpactReviewed: the Get-RelocationImpact run); null when none applies.</summary>
    public string? ReviewedRunId { get; init; }
}
