using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Remote;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Tests.Remote;

/// <summary>
/// The rename's estate transaction on a copy of the sample estate: the pins and the receipt are written together, or
/// the pins not at all (and the row says why).
/// </summary>
public sealed class HypervisorRenameEstateRecordTests : IDisposable
{
    private const string Config = "ops/infra-relocation.yaml";
    private const string Entry = "pve-fra1-a: { api_url: \"https://pve-fra1-a.int.example.net:8006\", node: \"pve-fra1-a\" }";
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly SampleCopy _estate = new();
    private readonly ReceiptStore _store;

    public HypervisorRenameEstateRecordTests() => _store = new ReceiptStore(_estate.Full("receipts"));

    public void Dispose() => _estate.Dispose();

    // The receipt the cmdlet builds from the row: here only what the tests read back.
    private static RenameReceipt Receipt(List<BootstrapStepResult> rows) => (row, written, diff, transaction) =>
    {
        rows.Add(row);
        return new HostnameChangeReceipt
        {
            Capability = "infra.hypervisor.hostname.set", RunId = "run-1", HostId = "pve-fra1-a", NewName = "pve-fra1-x", Mode = RunMode.Execute,
            Outcome = ReceiptOutcome.Succeeded, Steps = [row], EstateFiles = written, Diff = diff, TransactionId = transaction, Summary = row.Evidence,
        };
    };

    private string Journal() => PendingReceipts.Write(_estate.Root, new HostnameChangeReceipt
    {
        Capability = "infra.hypervisor.hostname.set", RunId = "run-1", Mode = RunMode.Execute, Outcome = ReceiptOutcome.Failed, Summary = "interrupted",
    });

    private PinsRecorded Record(string newName, List<BootstrapStepResult> rows, string? journal) =>
        HypervisorRenameEstate.Record(_estate.Layout, _store, new RenamedNode("pve-fra1-a", 7, newName, null, null), Receipt(rows), journal, TimeSpan.FromSeconds(5), Now);

    [Fact]
    public void TheNodeNameAndTheReceiptAreWrittenInOneTransaction_AndTheJournaledReceiptIsDropped()
    {
        var before = _estate.Text(Config);
        var journal = Journal();
        var rows = new List<BootstrapStepResult>();

        var recorded = Record("pve-fra1-x", rows, journal);

        Assert.Equal(before.Replace(Entry, Entry.Replace("node: \"pve-fra1-a\"", "node: \"pve-fra1-x\"", StringComparison.Ordinal), StringComparison.Ordinal), _estate.Text(Config));
        Assert.Equal((BootstrapStepState.Done, 7, HypervisorRenameEstate.Step), (recorded.Row.State, recorded.Row.Order, recorded.Row.Step));
        var receipt = Assert.IsType<HostnameChangeReceipt>(recorded.Receipt);
        Assert.Equal([SampleCopy.Manifest, Config], receipt.EstateFiles.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.All(receipt.EstateFiles, f => Assert.Equal(Digest.Sha256Hex(_estate.Bytes(f.Path)), f.NewSha256));
        Assert.NotNull(receipt.TransactionId);
        Assert.Contains("+    pve-fra1-a: { api_url: \"https://pve-fra1-a.int.example.net:8006\", node: \"pve-fra1-x\" }", receipt.Diff, StringComparison.Ordinal);
        Assert.Contains("ledger_anchor", _estate.Text(SampleCopy.Manifest), StringComparison.Ordinal);
        Assert.Equal(receipt.Hash, Assert.Single(_store.ReadAll()).Hash);
        Assert.False(File.Exists(journal));
        Assert.Single(rows);
    }

    [Fact]
    public void ANodeTheEstateAlreadyNamesIsRecordedWithNoFileWritten()
    {
        var config = _estate.Bytes(Config);
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var recorded = Record("pve-fra1-a", [], Journal());

        Assert.Equal(BootstrapStepState.Unchanged, recorded.Row.State);
        var receipt = Assert.IsType<HostnameChangeReceipt>(recorded.Receipt);
        Assert.Empty(receipt.EstateFiles);
        Assert.Null(receipt.TransactionId);
        Assert.Equal("", receipt.Diff);
        Assert.Equal(config, _estate.Bytes(Config));
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
        Assert.Single(_store.ReadAll());
    }

    [Fact]
    public void WhenTheGuardRefusesNothingIsWrittenOrRecorded_AndTheRowSaysWhy()
    {
        _estate.Replace(SampleCopy.Registry, "  wiki:\n    host: app-core", "  wiki:\n    host: legacy-docker");   // D35 fails before and after
        var config = _estate.Bytes(Config);
        var journal = Journal();
        var rows = new List<BootstrapStepResult>();

        var recorded = Record("pve-fra1-x", rows, journal);

        Assert.Null(recorded.Receipt);
        Assert.Equal((BootstrapStepState.Failed, 7), (recorded.Row.State, recorded.Row.Order));
        Assert.StartsWith($"{Config} was not changed (MutationGuardBlocked): ", recorded.Row.Evidence, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', recorded.Row.Evidence);
        Assert.Equal(config, _estate.Bytes(Config));
        Assert.Empty(_store.ReadAll());
        Assert.True(File.Exists(journal));   // the caller records the host's part and drops it
        Assert.Empty(rows);
    }

    [Fact]
    public void APreviewStagesThePinsAndWritesNothing()
    {
        var config = _estate.Bytes(Config);
        var (plan, diff) = HypervisorRenameEstate.Preview(_estate.Layout, new RenamedNode("pve-fra1-a", 3, "pve-fra1-x", null, null), pending: false);

        Assert.Equal(BootstrapStepState.Planned, plan.Row.State);
        Assert.Single(plan.Edits);
        Assert.Contains("-    " + Entry, diff, StringComparison.Ordinal);
        Assert.Contains("node: \"pve-fra1-x\" }", diff, StringComparison.Ordinal);
        Assert.Equal(config, _estate.Bytes(Config));
        Assert.Empty(_store.ReadAll());
    }
}
