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
    /// <summary><c>Edited</c>, <c>Removed</c>, <c>Reordered</c>, <c>Torn</c> (an interrupted write at the end) or <c>Anchor</c>; null when intact.</summary>
    public string? Break { get; init; }
    /// <summary>Byte offset in the ledger file where the damage starts; null when intact.</summary>
    public long? BrokenAtOffset { get; init; }
    /// <summary>The manifest's <c>ledger_anchor</c> the chain was checked against; null when the estate has none yet.</summary>
    public string? Anchor { get; init; }
    /// <summary>True when the chain reaches the head the manifest anchors (false when there is no anchor, or it is not reached).</summary>
    public bool Anchored { get; init; }
    /// <summary>Who signed what: every signed receipt with its signer (judged against <c>receipts.signers</c>).</summary>
    public IReadOnlyList<ReceiptSignatureInfo> Signatures { get; init; } = [];
    /// <summary>Receipts that carry no signature.</summary>
    public int UnsignedCount { get; init; }
    /// <summary>
    /// Receipts the manifest's <c>ledger_anchor</c> does not seal yet (after the anchored head, or all without an anchor):
    /// until the next change anchors them, only the chain and signatures vouch for them (finding <c>RECEIPT.NotAnchored</c>).
    /// </summary>
    public int UnanchoredCount { get; init; }
}

/// <summary>One signed receipt of the ledger and who signed it (<c>Test-RelocationReceiptChain</c>).</summary>
public sealed record ReceiptSignatureInfo
{
    public int Line { get; init; }
    public string Capability { get; init; } = "";
    public string RunId { get; init; } = "";
    public string? Outcome { get; init; }
    /// <summary><c>Valid</c> (a listed key), <c>UnknownKey</c> or <c>Invalid</c> (the receipt or signature was changed).</summary>
    public string Status { get; init; } = "";
    /// <summary>The signer's name from <c>receipts.signers</c>; null for an unknown key.</summary>
    public string? Signer { get; init; }
    /// <summary>The signing key's fingerprint (<c>SHA256:…</c>, as <c>ssh-keygen -l</c> prints it).</summary>
    public string? Fingerprint { get; init; }
}

/// <summary>Receipt of Repair-RelocationReceiptChain: what was cut from the ledger's torn tail and where it was kept.</summary>
public sealed record ReceiptRepairReceipt : RelocationReceipt
{
    public string LedgerPath { get; init; } = "";
    /// <summary>Byte offset where the removed tail started (the ledger's new length).</summary>
    public long TruncatedAtOffset { get; init; }
    public long RemovedBytes { get; init; }
    /// <summary>SHA-256 of the removed bytes.</summary>
    public string RemovedSha256 { get; init; } = "";
    /// <summary>The file that keeps the removed bytes (relative to the estate root).</summary>
    public string SavedAs { get; init; } = "";
}
