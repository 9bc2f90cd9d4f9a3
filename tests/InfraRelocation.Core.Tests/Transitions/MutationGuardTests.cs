using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>The mutation guard: SCHEMA, D35, D37 and identity on the estate after the change, before anything is written.</summary>
public sealed class MutationGuardTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly TransitionEnvironment Env = new() { Now = Now, Actor = "operator" };
    private static readonly TransitionGuard Guard = new() { Now = Now };
    private readonly SampleCopy _estate = new();

    public void Dispose() => _estate.Dispose();

    private static Func<Estate.EstateSnapshot, TransitionPlan> Service(string name, ServiceStatus status) =>
        e => TransitionPlanner.PlanService(e, new ServiceTransitionRequest(name, status), Env);

    private static Func<Estate.EstateSnapshot, TransitionPlan> State(RelocationState state) =>
        e => TransitionPlanner.PlanState(e, new StateTransitionRequest(state), Env);

    [Fact]
    public void AMoveThatBreaksParityIsBlockedWithEveryFindingLocatedAndNothingWritten()
    {
        // bookmarks: the registry follows the move, the stack registry and health binding still name legacy-docker.
        var manifest = _estate.Bytes(SampleCopy.Manifest);
        var run = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow), Guard);
        Assert.True(run.Plan.Blocked);
        var errors = run.Plan.Findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        Assert.Equal(["D35.HealthHostMismatch", "D35.StackTargetMismatch"], errors.Select(f => f.RuleId).Order());
        Assert.All(errors, f => Assert.Equal("bookmarks", f.Subject));
        Assert.All(errors, f => Assert.Matches(@"^ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+$", f.Location!.ToString()));
        Assert.DoesNotContain(errors, f => f.RuleId == "D35.RegistryHostMismatch"); // the change itself fixes that one
        Assert.False(run.Plan.Guard!.Passed);
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));

        var commit = TransitionExecutor.Commit(_estate.Layout, run.Plan, Service("bookmarks", ServiceStatus.Shadow), new TransitionCommitOptions { Guard = Guard });
        Assert.True(commit.Plan.Blocked);
        Assert.False(commit.Committed);
        Assert.Equal(manifest, _estate.Bytes(SampleCopy.Manifest));
    }

    [Fact]
    public void ForcedWithAReasonTheFindingsAndTheReasonAreKept()
    {
        var forced = Guard with { ForceReason = "stack moves in CHG-2" };
        var run = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow), forced);
        Assert.False(run.Plan.Blocked);
        Assert.Equal("stack moves in CHG-2", run.Plan.OverrideReason);
        Assert.Contains(run.Plan.Overrides, o => o.Contains("Forced past 2 gate error(s)", StringComparison.Ordinal) && o.Contains("stack moves in CHG-2", StringComparison.Ordinal));
        Assert.Equal(2, run.Plan.Findings.Count(f => f.Severity == FindingSeverity.Warning && f.Message.StartsWith("Overridden (-Force): ", StringComparison.Ordinal)));
        var commit = TransitionExecutor.Commit(_estate.Layout, run.Plan, Service("bookmarks", ServiceStatus.Shadow), new TransitionCommitOptions { Guard = forced });
        Assert.True(commit.Committed);
        Assert.Equal(ServiceStatus.Shadow, _estate.Load().Manifest!.Services.Single(s => s.Service == "bookmarks").Status);
    }

    [Fact]
    public void AMoveWhoseSsotFilesAgreePasses()
    {
        _estate.PrepareSsot("bookmarks");
        var run = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow), Guard);
        Assert.False(run.Plan.Blocked);
        Assert.True(run.Plan.Guard!.Passed);
        Assert.Empty(run.Plan.Guard.ErrorsAfter);
    }

    [Fact]
    public void AnUnrelatedErrorBlocksEveryOtherChange()
    {
        _estate.PrepareSsot("bookmarks");
        // wiki (shadow) hand-edited back to the old host in the registry: D35 red before and after the move of bookmarks.
        _estate.Replace(SampleCopy.Registry, "  wiki:\n    host: app-core", "  wiki:\n    host: legacy-docker");
        var run = TransitionExecutor.Preview(_estate.Layout, Service("bookmarks", ServiceStatus.Shadow), Guard);
        Assert.True(run.Plan.Blocked);
        Assert.Contains(run.Plan.Findings, f => f.Severity == FindingSeverity.Error && f.Subject == "wiki" && f.RuleId == "D35.RegistryHostMismatch");
        Assert.False(run.Plan.Guard!.OnlyRemovesErrors);
    }

    [Fact]
    public void AChangeThatOnlyRemovesErrorsIsAllowedAndSaysSo()
    {
        // Two errors: wiki and pastebin disagree with the registry. Moving pastebin back to planned removes its error
        // and adds none; wiki's stays.
        _estate.Replace(SampleCopy.Registry, "  wiki:\n    host: app-core", "  wiki:\n    host: legacy-docker");
        _estate.Replace(SampleCopy.Registry, "  pastebin:\n    host: app-core", "  pastebin:\n    host: legacy-docker");
        var run = TransitionExecutor.Preview(_estate.Layout, Service("pastebin", ServiceStatus.Planned), Guard);
        Assert.False(run.Plan.Blocked);
        Assert.True(run.Plan.Guard!.OnlyRemovesErrors);
        Assert.Equal(["wiki"], run.Plan.Guard.ErrorsAfter.Select(f => f.Subject).Distinct());
        Assert.Contains(run.Plan.Findings, f => f.RuleId == "GUARD.OnlyRemovesErrors" && f.Severity == FindingSeverity.Warning);
    }

    [Fact]
    public void LeavingPlanningIsJudgedAsPreflightWillBe()
    {
        _estate.SetState("planning");
        // In planning D35 is not evaluated; after the step it is, and wiki disagrees with the registry.
        _estate.Replace(SampleCopy.Registry, "  wiki:\n    host: app-core", "  wiki:\n    host: legacy-docker");
        var run = TransitionExecutor.Preview(_estate.Layout, State(RelocationState.Preflight), Guard);
        Assert.True(run.Plan.Blocked);
        Assert.Contains(run.Plan.Findings, f => f.Severity == FindingSeverity.Error && f.Subject == "wiki" && f.RuleId.StartsWith("D35.", StringComparison.Ordinal));
    }

    [Fact]
    public void EnteringCleanupNeedsParityGreenEvenWhenForced()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        foreach (var s in new[] { "wiki", "pastebin", "status-page", "prometheus", "grafana", "web-portal", "identity-provider" })
        {
            _estate.SetServiceStatus(s, "applied");
        }
        _estate.Replace(SampleCopy.Registry, "  wiki:\n    host: app-core", "  wiki:\n    host: legacy-docker");
        var plan = TransitionPlanner.PlanState(_estate.Load(), new StateTransitionRequest(RelocationState.Cleanup), Env);
        Assert.True(plan.Blocked);
        var d35 = Assert.Single(plan.Findings, f => f.Severity == FindingSeverity.Error && f.RuleId != ChecklistEvaluator.IncompleteRule);
        Assert.Equal("D35.RegistryHostMismatch", d35.RuleId);
        Assert.StartsWith("Entering cleanup needs D35 green", d35.Message, StringComparison.Ordinal);
        var forced = TransitionExecutor.Preview(_estate.Layout, e => TransitionPlanner.PlanState(e, new StateTransitionRequest(RelocationState.Cleanup), Env), Guard with { ForceReason = "x" });
        Assert.True(forced.Plan.Blocked);
    }

    [Fact]
    public void AnEstateThatBreaksTheSchemaIsBadInputWithNoReceipt()
    {
        _estate.Replace(SampleCopy.Manifest, "  change_id: \"CHG-2026-1118-SPLIT-LEGACY\"", "  change_id: [1, 2]");
        var ex = Assert.Throws<RelocationException>(() =>
            TransitionExecutor.Preview(_estate.Layout, Service("wiki", ServiceStatus.Planned), Guard with { ForceReason = "x" }));
        Assert.True(MutationGuard.IsUnreadableEstate(ex));
        Assert.Contains(ex.Findings, f => MutationGuard.IsSchema(f));
    }

    [Fact]
    public void OnAHostChangeTheEstateAsItIsIsJudged()
    {
        var estate = _estate.Load();
        Assert.Null(MutationGuard.Refusal(MutationGuard.Evaluate(estate, Now), "provisioning app-core", canForce: false));
        _estate.Replace(SampleCopy.Registry, "  wiki:\n    host: app-core", "  wiki:\n    host: legacy-docker");
        var refusal = MutationGuard.Refusal(MutationGuard.Evaluate(_estate.Load(), Now), "provisioning app-core", canForce: false);
        Assert.NotNull(refusal);
        Assert.Equal("MutationGuardBlocked", refusal.ErrorId);
        Assert.Contains("ops/bindings/infra.relocation.plan.yaml:", refusal.Message, StringComparison.Ordinal);
        Assert.False(MutationGuard.IsUnreadableEstate(refusal));
    }

    private static string SetBy(string capability, string command, string run, string path, string? after) => System.Text.Json.JsonSerializer.Serialize(new
    {
        Capability = capability, Command = command, Mode = "Execute", Outcome = "Succeeded", ChangeId = SampleCopy.ChangeId, RunId = run,
        EndedUtc = "2026-11-26T10:00:00Z", Changes = new[] { new { File = SampleCopy.Manifest, Path = path, Before = (string?)null, After = after } },
    });

    [Fact]
    public void AHandEditedFieldNamesTheRunThatSetItAndBlocksUntilAdopted()
    {
        _estate.SetState("cutover");
        _estate.Approve();
        var set = SetBy("infra.relocation.state.transition", "Set-RelocationState", "run-1", "active_relocation.state", "preflight");
        Assert.Empty(HandEditGate.Evaluate(_estate.Load(), LedgerView.Empty)); // nothing set by a receipt: not judged
        var finding = Assert.Single(HandEditGate.Evaluate(_estate.Load(), SampleCopy.Ledger(set)));
        Assert.Equal("HANDEDIT.FieldChanged", finding.RuleId);
        Assert.Matches(@"^state is cutover at ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+; the last Set-RelocationState set preflight, run run-1 ", finding.Message);

        // wiki (phase 1) moves by override of phase 1's VM items (no VM evidence in this fixture), so that the hand-edit
        // gate is the one judged.
        Func<Estate.EstateSnapshot, TransitionPlan> wiki = e => TransitionPlanner.PlanService(e,
            new ServiceTransitionRequest("wiki", ServiceStatus.Cutover) { Force = true, ForceReason = "test: phase 1's VM targets are not provisioned in this fixture" }, Env);
        var run = TransitionExecutor.Preview(_estate.Layout, wiki, Guard with { Ledger = SampleCopy.Ledger(set) });
        Assert.True(run.Plan.Blocked);
        Assert.Contains(run.Plan.Findings, f => f.RuleId == "HANDEDIT.FieldChanged");

        // Approve-RelocationEdit's receipt makes the file's value the controlled one.
        var adopted = SetBy(HandEditGate.AdoptCapability, "Approve-RelocationEdit", "run-2", "active_relocation.state", "cutover");
        Assert.Empty(HandEditGate.Evaluate(_estate.Load(), SampleCopy.Ledger(set, adopted)));
        Assert.False(TransitionExecutor.Preview(_estate.Layout, wiki, Guard with { Ledger = SampleCopy.Ledger(set, adopted) }).Plan.Blocked);
    }

    [Fact]
    public void HandEditsOfServiceAndVmTargetStatusesAndApprovalAreEachReported()
    {
        var ledger = SampleCopy.Ledger(
            SetBy("infra.relocation.service.transition", "Set-RelocationServiceStatus", "r1", "services[?service=wiki].status", "cutover"),
            SetBy("infra.relocation.vm.target", "Set-RelocationVmTarget", "r2", "vm_targets[?hostname=db-main].status", "ready"),
            SetBy("infra.relocation.state.transition", "Set-RelocationState", "r3", "active_relocation.approved_by", "cab-chair"));
        var findings = HandEditGate.Evaluate(_estate.Load(), ledger);
        Assert.Equal(["active_relocation.approved_by", "services[?service=wiki].status", "vm_targets[?hostname=db-main].status"], findings.Select(f => f.DocumentPath).Order());
        Assert.All(findings, f => Assert.Matches(@"^ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+$", f.Location!.ToString()));
    }
}
