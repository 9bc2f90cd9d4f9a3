using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Receipts;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Get-RelocationReceipt: reads the estate's receipt ledger as typed receipts, oldest first, filtered by
/// capability (wildcards), run id, time and outcome. Reading evidence is not a run: no receipt is written.
/// </summary>
[Cmdlet(VerbsCommon.Get, "RelocationReceipt")]
[OutputType(typeof(RelocationReceipt))]
public sealed class GetRelocationReceiptCommand : EstateCmdlet
{
    /// <summary>Capability names; wildcards allowed (e.g. <c>infra.relocation.*</c>).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CapabilityCompleter))]
    public string[]? Capability { get; set; }

    /// <summary>Run ids, exactly as written on the receipts.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? RunId { get; set; }

    /// <summary>Only receipts of runs started at or after this time.</summary>
    [Parameter]
    public DateTime? After { get; set; }

    /// <summary>Only receipts of runs started before this time.</summary>
    [Parameter]
    public DateTime? Before { get; set; }

    /// <summary>Only receipts with one of these outcomes.</summary>
    [Parameter]
    public ReceiptOutcome[]? Outcome { get; set; }

    private readonly HashSet<string> _runIds = new(StringComparer.Ordinal);

    protected override void ProcessRecord()
    {
        foreach (var id in RunId ?? [])
        {
            _runIds.Add(id);
        }
    }

    protected override void EndProcessing()
    {
        var patterns = Capability?.Select(c => new WildcardPattern(c, WildcardOptions.IgnoreCase)).ToList();
        var after = After is { } a ? ToUtc(a) : (DateTimeOffset?)null;
        var before = Before is { } b ? ToUtc(b) : (DateTimeOffset?)null;
        var store = Receipts;
        if (store.FindTornTail() is { } torn)
        {
            WriteWarning($"The ledger ends in a torn write at byte {torn.Offset} ({torn.Length} bytes, {torn.Reason}); it is left out. Repair-RelocationReceiptChain cuts it.");
        }
        Run(() =>
        {
            foreach (var receipt in store.ReadAll())
            {
                if ((patterns is null || patterns.Any(p => p.IsMatch(receipt.Capability))) &&
                    (_runIds.Count == 0 || _runIds.Contains(receipt.RunId)) &&
                    (after is null || receipt.StartedUtc >= after) &&
                    (before is null || receipt.StartedUtc < before) &&
                    (Outcome is null || Outcome.Contains(receipt.Outcome)))
                {
                    WriteObject(receipt);
                }
            }
        });
    }

    // Unspecified kinds (typed at the prompt) are local time, as everywhere in PowerShell.
    private static DateTimeOffset ToUtc(DateTime time) =>
        time.Kind == DateTimeKind.Utc ? new DateTimeOffset(time) : new DateTimeOffset(time.ToUniversalTime());
}
