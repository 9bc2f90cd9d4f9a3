using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>Stand-in for the preflight receipt of branch `remote` (the contract's JSON properties).</summary>
public sealed record TestPreflightReceipt : RelocationReceipt
{
    public string? ChangeId { get; init; }
    public IReadOnlyList<Baseline> HealthBaseline { get; init; } = [];
    public IReadOnlyList<Backup> BackupVerification { get; init; } = [];

    public sealed record Baseline(string Service, string Url, int? StatusCode, double LatencyMs, bool Healthy);

    public sealed record Backup(string Service, string BackupTarget, bool Verified, string Evidence);
}

public sealed class LedgerViewTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ir-ledger-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ReadsReceiptsAppendedByTheStoreGenerically()
    {
        var store = new ReceiptStore(_folder);
        var ended = new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
        store.Append(new TestPreflightReceipt
        {
            Capability = LedgerView.PreflightCapability, Mode = RunMode.Read, Outcome = ReceiptOutcome.Passed, RunId = "pf-1", EndedUtc = ended,
            ChangeId = "CHG-1",
            HealthBaseline = [new("wiki", "http://x/health", 200, 3, true)],
            BackupVerification = [new("wiki", "nas:/wiki", true, "snapshot 2026-11-26")],
        });
        store.Append(new ServiceStatusReceipt
        {
            Capability = LedgerView.ServiceCapability, Mode = RunMode.Execute, Outcome = ReceiptOutcome.Succeeded, EndedUtc = ended.AddHours(1),
            Service = "wiki", Subject = "wiki", Before = "cutover", After = "applied",
        });
        store.Append(new ServiceStatusReceipt
        {
            Capability = LedgerView.ServiceCapability, Mode = RunMode.Preview, Outcome = ReceiptOutcome.Previewed, EndedUtc = ended.AddHours(2),
            Service = "wiki", Subject = "wiki", Before = "applied", After = "rolled-back",
        });

        var ledger = LedgerView.Load(store.LedgerPath);
        var evidence = ledger.LatestPreflight("CHG-1");
        Assert.NotNull(evidence);
        Assert.Equal(ended, evidence.EndedUtc);
        Assert.Equal([("wiki", true)], evidence.HealthBaseline);
        Assert.Equal([("wiki", true)], evidence.BackupVerification);
        Assert.Null(ledger.LatestPreflight("CHG-2"));
        Assert.Equal(ended.AddHours(1), ledger.LastEntered("wiki", "applied"));
        Assert.Null(ledger.LastEntered("wiki", "rolled-back")); // previews are not history
        Assert.True(store.Verify().IsValid);
    }

    [Fact]
    public void AMissingLedgerIsEmpty() => Assert.Empty(LedgerView.Load(Path.Combine(_folder, "none.jsonl")).Entries);
}
