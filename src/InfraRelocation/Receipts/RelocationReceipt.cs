namespace InfraRelocation.Receipts;

/// <summary>How a run touched the estate.</summary>
public enum RunMode
{
    /// <summary>Read-only capability.</summary>
    Read,
    /// <summary>A mutating capability run with -WhatIf (or declined at -Confirm): nothing changed.</summary>
    Preview,
    /// <summary>A mutating capability that was allowed to change things.</summary>
    Execute,
}

/// <summary>What came of a run.</summary>
public enum ReceiptOutcome
{
    /// <summary>A check found no errors.</summary>
    Passed,
    /// <summary>A check found errors, or a change failed.</summary>
    Failed,
    /// <summary>A change was made.</summary>
    Succeeded,
    /// <summary>A -WhatIf run: guards evaluated, nothing written.</summary>
    Previewed,
    /// <summary>Guards refused the change before anything was written.</summary>
    Blocked,
    /// <summary>A change failed part-way and was undone.</summary>
    Reverted,
    /// <summary>Nothing needed doing (idempotent re-run).</summary>
    Unchanged,
    /// <summary>The user stopped the run (Ctrl+C); the receipt says how to resume.</summary>
    Cancelled,
}

/// <summary>
/// Evidence of one capability run. Every cmdlet emits one (a subclass with its own payload) and appends
/// it to the receipt ledger. Receipts never hold secrets.
/// </summary>
public record RelocationReceipt
{
    /// <summary>Protocol capability name, e.g. <c>infra.relocation.parity</c>.</summary>
    public string Capability { get; init; } = "";
    /// <summary>The cmdlet that ran, e.g. <c>Invoke-RelocationParity</c>.</summary>
    public string Command { get; init; } = "";
    public string RunId { get; init; } = "";
    public RunMode Mode { get; init; }
    public DateTimeOffset StartedUtc { get; init; }
    public DateTimeOffset EndedUtc { get; init; }
    public ReceiptOutcome Outcome { get; init; }
    /// <summary>One line for people: what happened.</summary>
    public string Summary { get; init; } = "";
    public IReadOnlyList<RelocationFinding> Findings { get; init; } = [];
    /// <summary>SHA-256 (lower-case hex) of every input file, by path relative to the estate root.</summary>
    public IReadOnlyDictionary<string, string> InputDigests { get; init; } = new Dictionary<string, string>();
    public string Actor { get; init; } = "";
    public string Machine { get; init; } = "";
    /// <summary>Estate root the run evaluated.</summary>
    public string EstateRoot { get; init; } = "";
    /// <summary>Hash of the receipt before this one in the ledger (empty for the first).</summary>
    public string PreviousHash { get; init; } = "";
    /// <summary>This receipt's hash in the ledger (set when it is appended).</summary>
    public string Hash { get; init; } = "";

    /// <summary>
    /// Set when the run had more findings than a ledger line keeps (<c>ReceiptStore.InlineFindings</c>): the count of
    /// every finding per rule and severity. <see cref="Findings"/> then holds only the first ones in the ledger.
    /// </summary>
    public IReadOnlyList<FindingCount>? FindingCounts { get; init; }
    /// <summary>SHA-256 of the full findings' JSON (set with <see cref="FindingCounts"/>); names the report file.</summary>
    public string? FindingsSha256 { get; init; }
    /// <summary>Where the full findings are kept (relative to the ledger's folder, e.g. <c>reports/&lt;sha256&gt;.json</c>); null when not kept.</summary>
    public string? FindingsReport { get; init; }

    public int ErrorCount => FindingCounts is { } counts
        ? counts.Where(c => c.Severity == FindingSeverity.Error).Sum(c => c.Count)
        : Findings.Count(f => f.Severity == FindingSeverity.Error);
    public int WarningCount => FindingCounts is { } counts
        ? counts.Where(c => c.Severity == FindingSeverity.Warning).Sum(c => c.Count)
        : Findings.Count(f => f.Severity == FindingSeverity.Warning);
}

/// <summary>How many findings of one rule and severity a run had (a small receipt's summary of its findings).</summary>
public sealed record FindingCount(string RuleId, FindingSeverity Severity, int Count);
