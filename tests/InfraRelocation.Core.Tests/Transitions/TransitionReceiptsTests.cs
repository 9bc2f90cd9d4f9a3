using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;
using InfraRelocation.Receipts;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>Each way a transition ends, and the receipt it leaves (runs of the real planner and executor on the sample estate).</summary>
public sealed class TransitionReceiptsTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly TransitionEnvironment Env = new() { Now = Now, Actor = "operator" };
    private static readonly ServiceStatusReceipt Template = new() { Capability = "infra.relocation.service.transition", Service = "bookmarks", Subject = "bookmarks", After = "shadow" };
    private readonly SampleCopy _estate = new();

    public TransitionReceiptsTests() => _estate.PrepareSsot("bookmarks");

    public void Dispose() => _estate.Dispose();

    private static Func<Estate.EstateSnapshot, TransitionPlan> Service(string name, ServiceStatus status) =>
        e => TransitionPlanner.PlanService(e, new ServiceTransitionRequest(name, status), Env);

    private TransitionRun Preview(ServiceStatus status = ServiceStatus.Shadow) => TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", status));

    private static RelocationFinding Error(string rule) =>
        new() { RuleId = rule, Severity = FindingSeverity.Error, Message = $"{rule} broken", Subject = "bookmarks", Location = new SourceLocation("ops/x.yaml", 2, 3) };

    [Fact]
    public void APreviewCarriesThePlanAndTheDiffAndWritesNoFiles()
    {
        var preview = Preview();
        var receipt = TransitionReceipts.Previewed(Template, preview);
        Assert.Equal(ReceiptOutcome.Previewed, receipt.Outcome);
        Assert.Equal($"Preview: {preview.Plan.Summary} (nothing written)", receipt.Summary);
        Assert.Equal(("bookmarks", "planned", "shadow"), (receipt.Subject, receipt.Before, receipt.After));
        Assert.Equal(preview.Plan.ChangeId, receipt.ChangeId);
        Assert.Contains("+    status: \"shadow\"", receipt.Diff);
        Assert.Equal(preview.Changes, receipt.Changes);
        Assert.Empty(receipt.Files);
        Assert.Null(receipt.TransactionId);
        Assert.Equal("bookmarks", receipt.Service);
        Assert.Equal(Template.Capability, receipt.Capability);
    }

    [Fact]
    public void ACommitSucceedsWithTheFilesItWroteAndItsTransaction()
    {
        var plan = Preview().Plan;
        var run = TransitionExecutor.Commit(_estate.Layout, plan, Service("bookmarks", ServiceStatus.Shadow));
        var receipt = TransitionReceipts.Committed(Template, run);
        Assert.Equal(ReceiptOutcome.Succeeded, receipt.Outcome);
        Assert.Equal(run.Plan.Summary, receipt.Summary);
        Assert.Equal([SampleCopy.Manifest, SampleCopy.Registry], receipt.Files.Select(f => f.Path));
        Assert.All(receipt.Files, f => Assert.Equal(Digest.Sha256Hex(_estate.Bytes(f.Path)), f.NewSha256));
        Assert.Equal(run.Outcome!.TransactionId, receipt.TransactionId);
        Assert.Equal(run.Diff, receipt.Diff);
    }

    [Fact]
    public void ACommitUndoneByItsCheckIsRevertedAndSaysWhy()
    {
        var run = Preview() with { RevertReason = "parity failed after the write" };
        var receipt = TransitionReceipts.Committed(Template, run);
        Assert.Equal(ReceiptOutcome.Reverted, receipt.Outcome);
        Assert.Equal($"{run.Plan.Summary} was written and reverted: parity failed after the write", receipt.Summary);
    }

    [Fact]
    public void NothingToChangeIsUnchanged()
    {
        _estate.SetServiceStatus("bookmarks", "shadow");
        var run = Preview();
        Assert.True(run.Plan.NoOp, string.Join("\n", run.Plan.Findings));
        var receipt = TransitionReceipts.Unchanged(Template, run);
        Assert.Equal(ReceiptOutcome.Unchanged, receipt.Outcome);
        Assert.Equal(run.Plan.Summary, receipt.Summary);
        Assert.Empty(receipt.Changes);
        Assert.Equal("", receipt.Diff);
    }

    [Fact]
    public void ABlockedPlanListsItsErrorsKeepsNoDiffAndSaysHowToGoOn()
    {
        var preview = Preview();
        var blocking = Error("D35.Mismatch");
        var run = preview with { Plan = preview.Plan with { Findings = [blocking], Guard = new GuardVerdict { ErrorsAfter = [blocking] } } };
        var receipt = TransitionReceipts.Blocked(Template, run);
        Assert.Equal(ReceiptOutcome.Blocked, receipt.Outcome);
        Assert.Equal(TransitionReceipts.BlockedMessage(run), receipt.Summary);
        Assert.StartsWith($"{run.Plan.Summary} is blocked:{Environment.NewLine}  {blocking}", receipt.Summary);
        Assert.Contains("fix them (Invoke-RelocationGate lists them), or repeat with -Force -Reason", receipt.Summary);
        Assert.Equal([blocking], receipt.Findings);
        Assert.Equal("", receipt.Diff);
        Assert.Empty(receipt.Changes);
        Assert.NotEmpty(run.Changes);
    }

    [Fact]
    public void TheBlockedMessageSaysSchemaErrorsCannotBeOverriddenAndPointsAtTheChecklist()
    {
        var preview = Preview();
        var schema = Error("SCHEMA.Required");
        var checklist = Error(ChecklistEvaluator.IncompleteRule);
        var message = TransitionReceipts.BlockedMessage(preview with
        {
            Plan = preview.Plan with { Findings = [schema, checklist], Guard = new GuardVerdict { ErrorsAfter = [schema] } },
        });
        Assert.Contains("Schema errors cannot be overridden", message);
        Assert.DoesNotContain("Invoke-RelocationGate", message);
        Assert.Contains("Complete the checklist items", message);

        // An error no guard judged (the planner's own) gets neither hint.
        var plain = TransitionReceipts.BlockedMessage(preview with { Plan = preview.Plan with { Findings = [Error("TRANSITION.Other")] } });
        Assert.Equal($"{preview.Plan.Summary} is blocked:{Environment.NewLine}  {Error("TRANSITION.Other")}", plain);
    }

    [Fact]
    public void ARefusedPreviewHasNoRunButTheErrorsFindingsAndTheTemplatesSubject()
    {
        var refusal = new RelocationException("IllegalTransition", FailureKind.InvalidOperation, "planned cannot go to complete") { Findings = [Error("TRANSITION.Illegal")] };
        var receipt = TransitionReceipts.Refused(Template, refusal);
        Assert.Equal(ReceiptOutcome.Blocked, receipt.Outcome);
        Assert.Equal("planned cannot go to complete", receipt.Summary);
        Assert.Equal(("bookmarks", null, "shadow"), (receipt.Subject, receipt.Before, receipt.After));
        Assert.Equal(["TRANSITION.Illegal"], receipt.Findings.Select(f => f.RuleId));
        Assert.Equal("", receipt.Diff);
    }

    [Fact]
    public void AGateRefusalKeepsThePreviewAndItsReason()
    {
        var preview = Preview();
        var receipt = TransitionReceipts.GateRefused(Template, preview, "bookmarks is unhealthy: 3 probes failed");
        Assert.Equal(ReceiptOutcome.Blocked, receipt.Outcome);
        Assert.Equal("bookmarks is unhealthy: 3 probes failed", receipt.Summary);
        Assert.Equal(preview.Diff, receipt.Diff);
    }

    [Fact]
    public void AFailedCommitAddsTheErrorsFindingsToThePlans()
    {
        var preview = Preview();
        var planned = new RelocationFinding { RuleId = "D37.Note", Severity = FindingSeverity.Warning, Message = "note" };
        var run = preview with { Plan = preview.Plan with { Findings = [planned] } };
        var failure = new RelocationException("EstateFileChanged", FailureKind.InvalidOperation, "the manifest changed since the preview") { Findings = [Error("EDIT.Verify")] };
        var receipt = TransitionReceipts.Failed(Template, run, failure);
        Assert.Equal(ReceiptOutcome.Failed, receipt.Outcome);
        Assert.Equal($"{preview.Plan.Summary}: the manifest changed since the preview", receipt.Summary);
        Assert.Equal(["D37.Note", "EDIT.Verify"], receipt.Findings.Select(f => f.RuleId));
        Assert.Empty(receipt.Files);
    }

    [Fact]
    public void ACancelledRunSaysWhereItStoppedAndHowToResume()
    {
        var preview = Preview();
        var receipt = TransitionReceipts.Cancelled(Template, preview, "Set-RelocationServiceStatus bookmarks shadow");
        Assert.Equal(ReceiptOutcome.Cancelled, receipt.Outcome);
        Assert.Equal($"Cancelled (Ctrl+C) before {preview.Plan.Summary} was committed; nothing was committed. To resume, run the same command again: Set-RelocationServiceStatus bookmarks shadow", receipt.Summary);

        var early = TransitionReceipts.Cancelled(Template, null, "");
        Assert.Equal("Cancelled (Ctrl+C) before its preview finished; nothing was committed. To resume, run the same command again", early.Summary);
        Assert.Equal("", early.Diff);
    }

    [Fact]
    public void OverridesTakeoversAndRecoveredJournalsAreRecorded()
    {
        var preview = Preview();
        var holder = new LeaseHolder("alice", 4242, Now.UtcDateTime, "ops-1", Now.UtcDateTime.AddHours(-2), Now.UtcDateTime.AddHours(-2), "Set-RelocationState", "token");
        var run = preview with
        {
            Plan = preview.Plan with { Overrides = ["D35 overridden"], OverrideReason = "maintenance window" },
            Outcome = new TransactionOutcome("tx-1", [new CommittedFile(SampleCopy.Manifest, "aa", "bb")]),
            Takeovers = [new LeaseTakeover(holder, "holder process is gone", Now.UtcDateTime)],
            Recovered = [new JournalRecovery(".infra-relocation/journal/tx-0.json", "tx-0", 17, "ops-2", Now.UtcDateTime, [SampleCopy.Registry])],
        };
        var receipt = TransitionReceipts.Committed(Template, run);
        Assert.Equal(["D35 overridden"], receipt.Overrides);
        Assert.Equal("maintenance window", receipt.OverrideReason);
        Assert.Equal("tx-1", receipt.TransactionId);
        Assert.Equal([new WrittenFile { Path = SampleCopy.Manifest, OldSha256 = "aa", NewSha256 = "bb" }], receipt.Files);
        var takeover = Assert.Single(receipt.Takeovers);
        Assert.Equal(("alice", 4242, "ops-1", "Set-RelocationState", "holder process is gone"),
            (takeover.PreviousOwner, takeover.PreviousPid, takeover.PreviousMachine, takeover.PreviousPurpose, takeover.Reason));
        Assert.Equal([$".infra-relocation/journal/tx-0.json (transaction tx-0, pid 17 on ops-2, restored {SampleCopy.Registry})"], receipt.RecoveredJournals);
    }
}
