using InfraRelocation.Core.Remote;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Tests.Remote;

/// <summary>The rename's receipt: its outcome, method, findings and summary, decided in Core from the steps and what the host reports.</summary>
public sealed class HypervisorRenameReceiptTests
{
    private static readonly HostnameChangeReceipt Started = new() { HostId = "pve-a", NewName = "pve-new", PreviousName = "pve-old", PinnedMachineId = "m1", MachineId = "m1" };

    private static BootstrapStepResult Row(string step, BootstrapStepState state, int order = 1) =>
        new() { Hostname = "pve-a", Order = order, Step = step, State = state, Evidence = $"{step} {state}" };

    private static readonly WrittenFile Config = new() { Path = "ops/infra-relocation.yaml", OldSha256 = "a", NewSha256 = "b" };

    [Fact]
    public void ARenameThatChangedFilesSucceeds_WithTheHostAndEstateFiles()
    {
        var receipt = HypervisorRenameEstate.Finished(Started,
            [Row("hosts:/etc/hosts", BootstrapStepState.Done), Row("hostname:pve-new", BootstrapStepState.Done, 2), Row(HypervisorRenameEstate.Step, BootstrapStepState.Done, 3)],
            ["/etc/hosts", "/etc/hostname"], "pve-new", [Config], "--- a/ops/infra-relocation.yaml\n", "tx1");
        Assert.Equal(ReceiptOutcome.Succeeded, receipt.Outcome);
        Assert.Equal("pve-rename", receipt.Method);
        Assert.Equal(["/etc/hosts", "/etc/hostname", "ops/infra-relocation.yaml"], receipt.Files);
        Assert.Equal([Config], receipt.EstateFiles);
        Assert.Equal("tx1", receipt.TransactionId);
        Assert.Equal("pve-new", receipt.ReportedName);
        Assert.Empty(receipt.Findings);
        Assert.Equal("pve-a: node 'pve-old' renamed to 'pve-new'; 3 file(s) changed", receipt.Summary);
        Assert.Equal("m1", receipt.PinnedMachineId);   // what the run started with is kept
    }

    [Fact]
    public void ANodeAlreadyRenamedIsUnchanged()
    {
        var receipt = HypervisorRenameEstate.Finished(Started with { PreviousName = "pve-new" },
            [Row("hostname:pve-new", BootstrapStepState.Unchanged), Row(HypervisorRenameEstate.Step, BootstrapStepState.Unchanged, 2)], [], "pve-new", [], "", null);
        Assert.Equal(ReceiptOutcome.Unchanged, receipt.Outcome);
        Assert.Equal("none", receipt.Method);
        Assert.Equal("pve-a: node already named 'pve-new'; nothing changed", receipt.Summary);
    }

    [Fact]
    public void AFailedStepFailsTheRename_WithAFindingPerStep()
    {
        var steps = new[] { Row("hosts:/etc/hosts", BootstrapStepState.Done), Row("nodedir:pve-new", BootstrapStepState.Failed, 2) };
        Assert.False(HypervisorRenameEstate.Renamed(steps, "pve-old", "pve-new"));
        var receipt = HypervisorRenameEstate.Finished(Started, [.. steps, HypervisorRenameEstate.NotRenamedRow("pve-a", 3)], ["/etc/hosts"], "pve-old", [], "", null);
        Assert.Equal(ReceiptOutcome.Failed, receipt.Outcome);
        var finding = Assert.Single(receipt.Findings);
        Assert.Equal("IDENTITY.RenameStepFailed", finding.RuleId);
        Assert.Equal("pve-a: nodedir:pve-new: nodedir:pve-new Failed", finding.Message);
        Assert.Equal("pve-a: rename to 'pve-new' incomplete (1 step(s) failed; the host reports 'pve-old'); re-run to resume", receipt.Summary);
        Assert.Equal(BootstrapStepState.NotRun, receipt.Steps[^1].State);
        Assert.Equal("ops/infra-relocation.yaml not changed: the node is not renamed yet", receipt.Steps[^1].Evidence);
    }

    [Fact]
    public void AHostThatDoesNotReportTheNewNameIsNotRenamed_EvenWithoutAFailedStep()
    {
        var steps = new[] { Row("hostname:pve-new", BootstrapStepState.Done) };
        Assert.False(HypervisorRenameEstate.Renamed(steps, "pve-old", "pve-new"));
        Assert.True(HypervisorRenameEstate.Renamed(steps, "pve-new", "pve-new"));
        var receipt = HypervisorRenameEstate.Finished(Started, steps, ["/etc/hostname"], "pve-old", [], "", null);
        Assert.Equal(ReceiptOutcome.Failed, receipt.Outcome);
        Assert.Empty(receipt.Findings);
        Assert.Contains("0 step(s) failed; the host reports 'pve-old'", receipt.Summary);
    }

    [Fact]
    public void APreviewSaysWhatItWouldDo()
    {
        var steps = new[] { Row("hostname:pve-new", BootstrapStepState.Planned) };
        var receipt = HypervisorRenameEstate.Previewed(Started, steps, ["/etc/hostname", "ops/infra-relocation.yaml"], "diff");
        Assert.Equal(ReceiptOutcome.Previewed, receipt.Outcome);
        Assert.Equal("pve-a: would rename node 'pve-old' to 'pve-new' (2 file(s)); nothing changed", receipt.Summary);
        Assert.Equal("diff", receipt.Diff);
        Assert.Equal("pve-a: would check that node 'pve-new' is fully renamed; nothing changed",
            HypervisorRenameEstate.Previewed(Started with { PreviousName = "pve-new" }, steps, [], "").Summary);
    }
}
