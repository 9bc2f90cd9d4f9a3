using System.Text;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>Start-Relocation and Close-Relocation: block edits of the manifest that keep every other byte.</summary>
public sealed class RelocationLifecycleTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 30, 0, TimeSpan.Zero);
    private readonly SampleCopy _estate = new();

    public void Dispose() => _estate.Dispose();

    private static TransitionEnvironment Env(LedgerView? ledger = null) => new() { Now = Now, Actor = "operator", Ledger = ledger ?? LedgerView.Empty };

    private static readonly TransitionGuard Guard = new() { Now = Now };

    /// <summary>The sample's active relocation, completed and archived by the cmdlet: what an archive leaves behind.</summary>
    private void ArchiveSample()
    {
        _estate.SetState("complete");
        var plan = TransitionExecutor.Preview(_estate.Layout, e => RelocationLifecycle.PlanArchive(e, Env()), Guard).Plan;
        Assert.True(TransitionExecutor.Commit(_estate.Layout, plan, e => RelocationLifecycle.PlanArchive(e, Env()), new TransitionCommitOptions { Guard = Guard }).Committed);
    }

    [Fact]
    public void ArchiveMovesTheBlockIntoCompletedRelocationsAndKeepsEveryOtherByte()
    {
        var before = _estate.Text(SampleCopy.Manifest);
        ArchiveSample();
        var after = _estate.Text(SampleCopy.Manifest);
        var manifest = _estate.Load().Manifest!;
        Assert.Null(manifest.ActiveRelocation);
        Assert.Equal(3, manifest.CompletedRelocations.Count);
        var archived = manifest.CompletedRelocations[^1];
        Assert.Equal(SampleCopy.ChangeId, archived.ChangeId);
        Assert.Equal("complete", archived.State);
        Assert.Equal("2026-12-01T09:30:00Z", archived.CompletedAt);
        Assert.True(archived.Extra.ContainsKey("evidence"));
        Assert.Contains("\nactive_relocation: null\n", after, StringComparison.Ordinal);
        // Everything from vm_targets on is byte for byte what it was.
        Assert.Equal(before[before.IndexOf("# ----", StringComparison.Ordinal)..], after[after.IndexOf("# ----", StringComparison.Ordinal)..]);
        Assert.StartsWith(before[..before.IndexOf("active_relocation:", StringComparison.Ordinal)], after, StringComparison.Ordinal);
        Assert.DoesNotContain(_estate.Load().ValidationFindings, f => f.Severity == FindingSeverity.Error);
    }

    [Fact]
    public void StartWritesANewActiveRelocationInPlanning()
    {
        ArchiveSample();
        var before = _estate.Text(SampleCopy.Manifest);
        var run = TransitionExecutor.Preview(_estate.Layout, e => RelocationLifecycle.PlanStart(e, new StartRelocationRequest("CHG-2027-0001", "@ops"), Env()), Guard);
        Assert.False(run.Plan.Blocked);
        Assert.Contains("-active_relocation: null", run.Diff, StringComparison.Ordinal);
        Assert.Contains("+  change_id: \"CHG-2027-0001\"", run.Diff, StringComparison.Ordinal);
        Assert.Equal(before, _estate.Text(SampleCopy.Manifest)); // a preview writes nothing
        Assert.True(TransitionExecutor.Commit(_estate.Layout, run.Plan, e => RelocationLifecycle.PlanStart(e, new StartRelocationRequest("CHG-2027-0001", "@ops"), Env()),
            new TransitionCommitOptions { Guard = Guard }).Committed);
        var active = _estate.Load().Manifest!.ActiveRelocation!;
        Assert.Equal(("CHG-2027-0001", RelocationState.Planning, "@ops", (string?)null), (active.ChangeId, active.State, active.Owner, active.ApprovedBy));
        // Only the null line was replaced by the block: every other byte is as it was.
        const string block = "active_relocation:\n  change_id: \"CHG-2027-0001\"\n  state: \"planning\"\n  owner: \"@ops\"\n  approved_by: null\n  updated_at: \"2026-12-01T09:30:00Z\"\n";
        Assert.Equal(before.Replace("\nactive_relocation: null\n", "\n" + block, StringComparison.Ordinal), _estate.Text(SampleCopy.Manifest));
    }

    [Fact]
    public void StartIsRefusedWhileARelocationIsActiveOrForAnArchivedChangeId()
    {
        var active = Assert.Throws<RelocationException>(() => RelocationLifecycle.PlanStart(_estate.Load(), new StartRelocationRequest("CHG-X", "@ops"), Env()));
        Assert.Equal("RelocationAlreadyActive", active.ErrorId);
        Assert.Contains(SampleCopy.ChangeId, active.Message, StringComparison.Ordinal);
        ArchiveSample();
        var used = Assert.Throws<RelocationException>(() => RelocationLifecycle.PlanStart(_estate.Load(), new StartRelocationRequest(SampleCopy.ChangeId, "@ops"), Env()));
        Assert.Equal("RelocationChangeIdUsed", used.ErrorId);
        var bad = Assert.Throws<RelocationException>(() => RelocationLifecycle.PlanStart(_estate.Load(), new StartRelocationRequest("a\nb", "@ops"), Env()));
        Assert.Equal("InvalidLifecycleField", bad.ErrorId);
    }

    [Fact]
    public void ArchiveNeedsACompleteRelocation()
    {
        var ex = Assert.Throws<RelocationException>(() => RelocationLifecycle.PlanArchive(_estate.Load(), Env()));
        Assert.Equal("RelocationNotComplete", ex.ErrorId);
    }

    [Fact]
    public void ArchiveRecordsTheRunThatEnteredCompleteAsEvidence()
    {
        _estate.SetState("complete");
        var ledger = SampleCopy.Ledger(System.Text.Json.JsonSerializer.Serialize(new
        {
            Capability = RelocationLifecycle.StateCapability, Mode = "Execute", Outcome = "Succeeded", ChangeId = SampleCopy.ChangeId,
            After = "complete", RunId = "20261201T090000Z-state-1234",
        }));
        var plan = RelocationLifecycle.PlanArchive(_estate.Load(), Env(ledger));
        var text = Encoding.UTF8.GetString(plan.Rewrites[0].Content);
        Assert.Contains("    evidence:\n      ledger: \"receipts/ledger.jsonl\"\n      complete_run: \"20261201T090000Z-state-1234\"\n      receipts: 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ANullActiveRelocationIsValidAndTheGatesStillRun()
    {
        ArchiveSample();
        var estate = _estate.Load();
        Assert.Null(estate.Manifest!.ActiveRelocation);
        Assert.DoesNotContain(estate.ValidationFindings, f => f.Severity == FindingSeverity.Error);
    }
}
