namespace InfraRelocation.Receipts;

/// <summary>Receipt of <c>Get-RelocationManifest</c> (capability <c>infra.relocation.manifest.read</c>).</summary>
public sealed record ManifestReadReceipt : RelocationReceipt
{
    public string? ChangeId { get; init; }
    public string? State { get; init; }
    public int ServiceCount { get; init; }
    public int VmTargetCount { get; init; }
}

/// <summary>Receipt of <c>Test-RelocationManifest</c> (capability <c>infra.relocation.manifest.validate</c>).</summary>
public sealed record ManifestValidationReceipt : RelocationReceipt
{
    /// <summary>The estate files validated, relative to the estate root.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];
    public string? ChangeId { get; init; }
    public string? State { get; init; }
    /// <summary>True when no finding is an error.</summary>
    public bool IsValid { get; init; }
}

/// <summary>Receipt of <c>Test-RelocationReceiptChain</c> (capability <c>infra.relocation.receipts.verify</c>).</summary>
public sealed record ReceiptChainReceipt : RelocationReceipt
{
    /// <summary>The ledger file verified.</summary>
    public string LedgerPath { get; init; } = "";
    /// <summary>True when every receipt is intact and in order.</summary>
    public bool IsValid { get; init; }
    /// <summary>Receipts in the ledger before this one was appended.</summary>
    public int ReceiptCount { get; init; }
    /// <summary>The 1-based line of the first broken link; null when intact.</summary>
    public int? BrokenAtLine { get; init; }
    /// <summary><c>Edited</c>, <c>Removed</c> or <c>Reordered</c>; null when intact.</summary>
    public string? Break { get; init; }
}
